// The API process: Fastify on API_HOST:API_PORT, serving the REST API, /health, /openapi.json and the console.
import { loadConfig } from '../core/config.ts';
import { createProcessLogger } from '../core/log.ts';
import { announceReady, onShutdown } from '../system/lifeline.ts';
import { buildApp } from './app.ts';

const log = createProcessLogger('api');

async function main(): Promise<void> {
  const config = loadConfig(['DATABASE_URL', 'TEMPORAL_ADDRESS', 'CLICKHOUSE_URL']);
  const app = await buildApp(config, log);
  onShutdown(async (reason) => {
    log.info({ reason }, 'stopping the API');
    await app.close();
  });
  try {
    await app.listen({ host: config.API_HOST, port: config.API_PORT });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`port ${config.API_PORT} is in use by another program: stop it, or set API_PORT`, {
        cause: error,
      });
    }
    throw error;
  }
  announceReady({ url: `http://${config.API_HOST}:${config.API_PORT}` });
}

main().catch((error: unknown) => {
  log.fatal(`API failed to start: ${(error as Error).message}`);
  process.exit(1);
});
