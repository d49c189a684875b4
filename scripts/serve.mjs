// A tiny static server for the browser page (node:http, no dependencies), on 127.0.0.1 only:
// WebGPU needs a secure context, and localhost is one without certificates.
//   PORT=8080 node scripts/serve.mjs [dir] [--host NAME]...   (PORT=0: any free port; default dir dist/web)
// Only requests with exactly one Host header naming localhost, 127.0.0.1 or [::1] with this
// server's port (none for port 80) are served: a web page elsewhere cannot reach this server
// through a DNS name it rebinds to 127.0.0.1, nor slip a second Host past the check. `--host NAME`
// (repeatable) or HOST=NAME[,NAME…] allows another name (any port: a proxy in front may use its
// own). A malformed request path answers 400; one that leaves the served folder, plainly, encoded
// or through a symbolic link (resolved before serving), 403; nothing a client sends answers 500.
import { createServer } from 'node:http';
import { readFile, realpath, stat } from 'node:fs/promises';
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

/** The Host names served without being asked for: loopback only. */
export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/**
 * The name in a Host header, lower-cased, without its port: `[::1]:8080` → `[::1]`,
 * `localhost:8080` → `localhost`. Null when the header is missing or malformed.
 */
export function hostName(header) {
  return hostAndPort(header)?.name ?? null;
}

/** The name and the port (null when absent) of a Host header; null when missing or malformed. */
export function hostAndPort(header) {
  if (typeof header !== 'string' || header === '') return null;
  const value = header.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^\s:[\]/@]+)(?::(\d{1,5}))?$/.exec(value);
  if (!m || (m[2] !== undefined && Number(m[2]) > 65535)) return null;
  return { name: m[1], port: m[2] === undefined ? null : Number(m[2]) };
}

/** The Host headers of a request as sent (Node keeps only the first of several in req.headers). */
export function hostHeaders(rawHeaders) {
  const out = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i].toLowerCase() === 'host') out.push(rawHeaders[i + 1]);
  return out;
}

/** The request path decoded and checked; null for a malformed one (bad percent-encoding, NUL, not absolute). */
export function requestPath(url) {
  if (typeof url !== 'string' || !url.startsWith('/')) return null;
  const raw = url.split(/[?#]/, 1)[0];
  let path;
  try {
    path = decodeURIComponent(raw);
  } catch {
    return null; // URIError: malformed percent-encoding such as /%E0%A4%A
  }
  if (path.includes('\0')) return null;
  return path;
}

/** Starts serving `dir`; resolves once listening, with the URL and a close function. */
export function serve({ dir = join(here, 'dist', 'web'), port = 8080, host = '127.0.0.1', allowedHosts = [] } = {}) {
  const base = resolve(dir);
  // The folder's real path: a file is served only if its own real path lies inside it.
  let realBase = null;
  const loopback = new Set([...LOOPBACK_HOSTS, host].map((name) => hostName(String(name)) ?? String(name).toLowerCase()));
  const extra = new Set(allowedHosts.map((name) => hostName(String(name)) ?? String(name).toLowerCase()));
  const allowed = new Set([...loopback, ...extra]);
  let listening = port;
  const server = createServer(async (req, res) => {
    try {
      // No DNS rebinding: a foreign name pointed at 127.0.0.1 gets nothing.
      const hosts = hostHeaders(req.rawHeaders);
      if (hosts.length !== 1) return send(res, 400, `bad request: ${hosts.length} Host headers (exactly one is needed)`);
      const given = hostAndPort(hosts[0]);
      const name = given?.name ?? null;
      const portOk = given !== null && (extra.has(given.name) || (given.port ?? 80) === listening);
      if (!name || !allowed.has(name) || !portOk) {
        const shown = JSON.stringify(String(hosts[0]).slice(0, 100)).slice(1, -1);
        return send(res, 421, `host not allowed: ${name ? shown : 'none given'} (this server answers ${[...loopback].map((n) => `${n}:${listening}`).join(', ')}${extra.size ? `, ${[...extra].join(', ')}` : ''}; allow another with --host NAME)`);
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        return send(res, 405, 'method not allowed');
      }
      const path = requestPath(req.url);
      if (path === null) return send(res, 400, 'bad request: malformed path');
      const file = normalize(join(base, path.endsWith('/') ? path + 'index.html' : path));
      // No escaping the served folder with ../ or encoded variants.
      if (file !== base && !file.startsWith(base + sep)) return send(res, 403, 'forbidden');
      const real = await realpath(file).catch(() => null);
      if (real === null) return send(res, 404, `not found: ${JSON.stringify(path).slice(1, -1)}`);
      realBase ??= await realpath(base);
      // A symbolic link inside the folder may not lead out of it.
      if (real !== realBase && !real.startsWith(realBase + sep)) return send(res, 403, 'forbidden');
      const info = await stat(real).catch(() => null);
      if (!info?.isFile()) return send(res, 404, `not found: ${JSON.stringify(path).slice(1, -1)}`);
      const body = req.method === 'HEAD' ? undefined : await readFile(real);
      res.writeHead(200, {
        'content-type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
        'content-length': body ? body.length : info.size,
        // A development server: always the freshly built files.
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      res.end(body);
    } catch (e) {
      // A file that vanished or cannot be read between stat and read: the server's side.
      if (!res.headersSent) send(res, 500, 'internal error');
      else res.destroy();
      console.error(`serve: ${req.url}: ${e}`);
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const address = server.address();
      listening = typeof address === 'object' && address ? address.port : port;
      const url = `http://${host}:${listening}/`;
      ok({ server, url, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}

function send(res, status, text) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}

/** `[dir] [--host NAME]... [--host=NAME]`, and HOST=NAME[,NAME…]; throws on an unknown flag. */
export function parseServeArgs(argv, env = process.env) {
  const allowedHosts = (env.HOST ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  let dir;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--host') {
      const name = argv[++i];
      if (!name) throw new Error('--host needs a name: --host NAME');
      allowedHosts.push(name);
    } else if (arg.startsWith('--host=')) {
      if (arg.length === 7) throw new Error('--host needs a name: --host NAME');
      allowedHosts.push(arg.slice(7));
    } else if (arg.startsWith('-')) {
      throw new Error(`unknown flag ${JSON.stringify(arg)}: usage: node scripts/serve.mjs [dir] [--host NAME]...`);
    } else if (dir === undefined) dir = arg;
    else throw new Error(`one folder only, got ${JSON.stringify(dir)} and ${JSON.stringify(arg)}`);
  }
  for (const name of allowedHosts) {
    if (hostName(name) === null) throw new Error(`--host ${JSON.stringify(name)} is not a host name`);
  }
  return { dir, allowedHosts };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const raw = process.env.PORT;
  const port = raw === undefined || raw === '' ? 8080 : Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT must be an integer 0..65535 (0: any free port), got ${raw}`);
    process.exit(2);
  }
  let args;
  try {
    args = parseServeArgs(process.argv.slice(2));
  } catch (e) {
    console.error(String(e.message ?? e));
    process.exit(2);
  }
  try {
    const { url } = await serve({ dir: args.dir, port, allowedHosts: args.allowedHosts });
    const extra = args.allowedHosts.length ? ` (also answering ${args.allowedHosts.join(', ')})` : '';
    console.log(`serving ${args.dir ?? 'dist/web'} at ${url}${extra}  (try ${url}?layers=1&heads=2&autorun=1)`);
  } catch (e) {
    console.error(e.code === 'EADDRINUSE' ? `port ${port} is in use: set PORT to another one (PORT=0 picks a free one)` : String(e));
    process.exit(1);
  }
}
