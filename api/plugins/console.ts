import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { repoRoot } from '../../core/paths.ts';

export const consoleDistDir = path.join(repoRoot, 'admin', 'dist');

/** The react-admin console, built by Vite into admin/dist, under /admin/ with client-side routes. */
export async function consolePlugin(app: FastifyInstance): Promise<void> {
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/admin/'));
  await app.register(async (scope) => {
    if (!fs.existsSync(path.join(consoleDistDir, 'index.html'))) {
      scope.get('/admin/*', { schema: { hide: true } }, async (_request, reply) =>
        reply.status(503).send({
          error: { code: 'console_not_built', message: 'the console is not built: npm start builds it' },
        }),
      );
      return;
    }
    await scope.register(fastifyStatic, {
      root: consoleDistDir,
      prefix: '/admin/',
      wildcard: false,
      index: ['index.html'],
    });
    // Client-side routes (/admin/#/... needs none, but /admin/anything should still open the console).
    scope.get('/admin/*', { schema: { hide: true } }, async (_request, reply) =>
      reply.sendFile('index.html'),
    );
  });
}
