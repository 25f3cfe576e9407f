// STAND-IN, to be removed once test/support/stack.ts (the real PostgreSQL + Temporal + warehouse + worker +
// API) exists: a plain node:http server that serves the real built admin/dist under /admin/ and a fixed
// GET /health in the API's contract, so the console test can run before the API does.
import { readFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

export async function startStaticStack(distDir: string): Promise<{ apiUrl: string; stop(): Promise<void> }> {
  let apiUrl = '';
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, type: string, body: string | Buffer) =>
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);

    if (url.pathname === '/health')
      return send(200, CONTENT_TYPES['.json']!, JSON.stringify(healthFixture(apiUrl)));
    if (url.pathname.startsWith('/temporal-stub/'))
      return send(200, CONTENT_TYPES['.html']!, '<title>Temporal</title>');
    if (url.pathname === '/admin') return res.writeHead(301, { location: '/admin/' }).end();
    if (url.pathname.startsWith('/admin/')) return void serveAdmin(distDir, url.pathname, res);
    send(404, 'text/plain', 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    apiUrl,
    stop: () =>
      new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

// The way the API should serve the console: files from admin/dist, and index.html for any other
// path under /admin/ (react-admin routes with the hash today, but a deep link must never 404).
async function serveAdmin(distDir: string, pathname: string, res: ServerResponse) {
  const relative = path.normalize(decodeURIComponent(pathname.slice('/admin/'.length)));
  const file = path.join(distDir, relative);
  const isAsset = relative !== '.' && !relative.startsWith('..') && path.extname(relative) !== '';
  try {
    const body = await readFile(isAsset ? file : path.join(distDir, 'index.html'));
    const type = CONTENT_TYPES[path.extname(isAsset ? file : 'index.html')] ?? 'application/octet-stream';
    res.writeHead(200, { 'content-type': type }).end(body);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }
}

function healthFixture(apiUrl: string) {
  return {
    status: 'degraded',
    version: '0.1.0',
    checkedAt: new Date().toISOString(),
    components: [
      {
        name: 'postgres',
        status: 'up',
        version: 'PostgreSQL 18.4',
        latencyMs: 2,
        endpoint: '127.0.0.1:5433',
      },
      { name: 'temporal', status: 'up', version: '1.29.1', latencyMs: 5, endpoint: '127.0.0.1:7233' },
      {
        name: 'warehouse',
        status: 'up',
        version: '26.7.3.1',
        latencyMs: 3,
        endpoint: 'http://127.0.0.1:8123',
      },
      { name: 'worker', status: 'down', latencyMs: 4, error: 'no worker polls task queue onecard-main' },
    ],
    links: {
      temporalWebUi: `${apiUrl}/temporal-stub/namespaces/onecard/workflows`,
      openapi: '/openapi.json',
    },
  };
}
