// The development server: files from its folder only, to loopback Host names only, and a 4xx
// (never a 500) for anything malformed a client sends.
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostName, parseServeArgs, requestPath, serve } from '../../scripts/serve.mjs';

let root: string;
let server: Awaited<ReturnType<typeof serve>>;
let port: number;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'wa-serve-'));
  const dir = join(root, 'web');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>page</title>');
  writeFileSync(join(dir, 'app.js'), 'export {};');
  writeFileSync(join(dir, 'sub', 'index.html'), 'sub');
  writeFileSync(join(root, 'secret.txt'), 'outside the served folder');
  server = await serve({ dir, port: 0, allowedHosts: ['devbox.example'] });
  port = Number(new URL(server.url).port);
});
afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

/** One request with the raw path and Host header given (fetch would normalise both). */
function get(path: string, host: string | null = `127.0.0.1:${port}`, method = 'GET'): Promise<{ status: number; body: string; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (host !== null) headers.host = host;
    const req = request({ host: '127.0.0.1', port, path, method, headers, setHost: host !== null }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serve', () => {
  it('serves the index, files and folders with index.html', async () => {
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(index.body).toContain('<title>page</title>');
    expect(index.type).toBe('text/html; charset=utf-8');
    expect((await get('/app.js?v=1')).type).toBe('text/javascript; charset=utf-8');
    expect((await get('/sub/')).body).toBe('sub');
    expect((await get('/missing.js')).status).toBe(404);
  });

  it('answers 400 to malformed percent-encoding, never 500', async () => {
    for (const path of ['/%E0%A4%A', '/%', '/%zz', '/%C0%AF', '/a%00b']) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect(res.body).toMatch(/bad request/);
    }
  });

  it('answers 403 to paths that leave the folder, plain or encoded', async () => {
    for (const path of ['/../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt', '/sub/../../secret.txt', '/sub/%2e%2e/%2e%2e/secret.txt']) {
      const res = await get(path);
      expect(res.status, path).toBe(403);
      expect(res.body).not.toContain('outside the served folder');
    }
  });

  it('serves loopback Host names with any port, and a name allowed with --host', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `[::1]:${port}`, 'LOCALHOST:1', 'devbox.example:8080']) {
      expect((await get('/', host)).status, host).toBe(200);
    }
  });

  it('refuses any other Host (DNS rebinding) with 421 and a short message', async () => {
    for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.1.evil.example', 'localhost.evil.example:80', '10.0.0.1']) {
      const res = await get('/', host);
      expect(res.status, host).toBe(421);
      expect(res.body).toMatch(/^host not allowed: /);
      expect(res.body).not.toContain('<title>');
    }
  });

  it('refuses methods other than GET and HEAD', async () => {
    expect((await get('/', undefined, 'POST')).status).toBe(405);
    const head = await get('/', undefined, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });
});

describe('serve helpers', () => {
  it('hostName takes the name from a Host header', () => {
    expect(hostName('localhost:8080')).toBe('localhost');
    expect(hostName('[::1]:80')).toBe('[::1]');
    expect(hostName('Example.COM')).toBe('example.com');
    expect(hostName('a b')).toBeNull();
    expect(hostName('x:99999')).toBeNull();
    expect(hostName(undefined)).toBeNull();
  });

  it('requestPath decodes, or says malformed', () => {
    expect(requestPath('/a%20b?x=%')).toBe('/a b');
    expect(requestPath('/%E0%A4%A')).toBeNull();
    expect(requestPath('/a%00')).toBeNull();
    expect(requestPath('*')).toBeNull();
  });

  it('--host and HOST add names; unknown flags are refused', () => {
    expect(parseServeArgs(['dist/web', '--host', 'box.lan', '--host=other.lan'], {})).toEqual({ dir: 'dist/web', allowedHosts: ['box.lan', 'other.lan'] });
    expect(parseServeArgs([], { HOST: 'a.lan, b.lan' })).toEqual({ dir: undefined, allowedHosts: ['a.lan', 'b.lan'] });
    expect(() => parseServeArgs(['--host'], {})).toThrow(/--host needs a name/);
    expect(() => parseServeArgs(['--port', '1'], {})).toThrow(/unknown flag/);
    expect(() => parseServeArgs(['--host', 'a b'], {})).toThrow(/not a host name/);
  });
});
