// A tiny static server for the browser page (node:http, no dependencies), on 127.0.0.1 only:
// WebGPU needs a secure context, and localhost is one without certificates.
//   PORT=8080 node scripts/serve.mjs [dir]     (PORT=0: any free port; default dir dist/web)
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('..', import.meta.url));

export const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.wgsl': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** Starts serving `dir`; resolves once listening, with the URL and a close function. */
export function serve({ dir = join(here, 'dist', 'web'), port = 8080, host = '127.0.0.1' } = {}) {
  const base = resolve(dir);
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const file = normalize(join(base, path.endsWith('/') ? path + 'index.html' : path));
      // No escaping the served folder with ../ or encoded variants.
      if (file !== base && !file.startsWith(base + sep)) return send(res, 403, 'forbidden');
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) return send(res, 404, `not found: ${path}`);
      res.writeHead(200, {
        'content-type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
        'content-length': info.size,
        // A development server: always the freshly built files.
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : await readFile(file));
    } catch (e) {
      send(res, 500, String(e));
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const address = server.address();
      const url = `http://${host}:${typeof address === 'object' && address ? address.port : port}/`;
      ok({ server, url, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}

function send(res, status, text) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const raw = process.env.PORT;
  const port = raw === undefined || raw === '' ? 8080 : Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT must be an integer 0..65535 (0: any free port), got ${raw}`);
    process.exit(2);
  }
  try {
    const { url } = await serve({ dir: process.argv[2], port });
    console.log(`serving ${process.argv[2] ?? 'dist/web'} at ${url}  (try ${url}?layers=1&heads=2&autorun=1)`);
  } catch (e) {
    console.error(e.code === 'EADDRINUSE' ? `port ${port} is in use: set PORT to another one (PORT=0 picks a free one)` : String(e));
    process.exit(1);
  }
}
