// The development server: files from its folder only, to loopback Host names only, and a 4xx
// (never a 500) for anything malformed a client sends.
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostAndPort, hostHeaders, hostName, parseServeArgs, requestPath, serve } from '../../scripts/serve.mjs';
import { connect } from 'node:net';

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

  it('serves loopback Host names with the server\'s port, and a name allowed with --host', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`, 'devbox.example:8080', 'devbox.example']) {
      expect((await get('/', host)).status, host).toBe(200);
    }
  });

  it('refuses any other Host (DNS rebinding) with 421 and a short message', async () => {
    for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.1.evil.example', 'localhost.evil.example:80', '10.0.0.1',
      'localhost', '127.0.0.1', `localhost:${port + 1}`, 'LOCALHOST:1']) {
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

/** A request written byte for byte (two Host headers cannot be sent through node:http). */
function raw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => (out += d));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}

describe('serve: issue 21', () => {
  it('exactly one Host header: a second one after localhost is refused', async () => {
    const two = await raw(`GET / HTTP/1.1\r\nHost: localhost:${port}\r\nHost: evil.example\r\nConnection: close\r\n\r\n`);
    expect(two).toMatch(/^HTTP\/1\.1 400 /);
    expect(two).toMatch(/2 Host headers \(exactly one is needed\)/);
    const none = await raw('GET / HTTP/1.0\r\nConnection: close\r\n\r\n');
    expect(none).toMatch(/^HTTP\/1\.1 400 /);
    const one = await raw(`GET / HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`);
    expect(one).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('symbolic links are resolved: one leading out of the folder answers 403, one inside it is served', async () => {
    const dir = join(root, 'web');
    symlinkSync(join(root, 'secret.txt'), join(dir, 'leak.txt'));
    symlinkSync(root, join(dir, 'up'));
    symlinkSync(join(dir, 'app.js'), join(dir, 'alias.js'));
    expect(await get('/leak.txt')).toMatchObject({ status: 403 });
    expect(await get('/up/secret.txt')).toMatchObject({ status: 403 });
    const alias = await get('/alias.js');
    expect(alias.status).toBe(200);
    expect(alias.body).toBe('export {};');
  });

  it('hostAndPort and hostHeaders', () => {
    expect(hostAndPort('localhost:8080')).toEqual({ name: 'localhost', port: 8080 });
    expect(hostAndPort('[::1]')).toEqual({ name: '[::1]', port: null });
    expect(hostHeaders(['Host', 'a', 'Accept', '*/*', 'host', 'b'])).toEqual(['a', 'b']);
  });
});
