import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from '../core/log.ts';
import packageJson from '../package.json' with { type: 'json' };
import {
  configPlugin,
  databasePlugin,
  temporalPlugin,
  warehousePlugin,
  type ApiConfig,
} from './plugins/components.ts';
import { errorsPlugin } from './plugins/errors.ts';
import { consolePlugin } from './plugins/console.ts';
import { healthRoutes } from './routes/health.ts';
import { selfCheckRoutes } from './routes/self-checks.ts';
import { ledgerRoutes } from './routes/ledger/index.ts';
import { cardOfficeRoutes } from './routes/cards/index.ts';
import { swipeRoutes } from './routes/swipes/index.ts';
import { relayRoutes } from './routes/warehouse/relay.ts';
import { reportRoutes } from './routes/reports/index.ts';
import { smsRoutes } from './routes/sms/index.ts';
import { topUpRoutes } from './routes/top-ups/index.ts';
import { blacklistRoutes } from './routes/blacklist/index.ts';
import { replacementRoutes } from './routes/replacements/index.ts';
import { settlementRoutes } from './routes/settlements/index.ts';
import { processRoutes } from './routes/processes.ts';

/** Fastify's options of the API (and of the swipe benchmark's route floor, which must parse the same way). */
export const fastifyOptions = {
  bodyLimit: 10 * 1024 * 1024,
  ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
} as const;

/**
 * Start-up order: external components (config, database, warehouse, Temporal), then the app's own
 * plugins (errors, OpenAPI), then routes and the console.
 */
export async function buildApp(config: ApiConfig, logger?: Logger): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: logger, ...fastifyOptions }) as unknown as FastifyInstance;

  await app.register(configPlugin, { config });
  await app.register(databasePlugin);
  await app.register(warehousePlugin);
  await app.register(temporalPlugin);

  await app.register(errorsPlugin);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: '中小学一卡通集中平台 API (K-12 one-card platform)', version: packageJson.version },
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes);
  await app.register(selfCheckRoutes);
  await app.register(ledgerRoutes);
  await app.register(cardOfficeRoutes);
  await app.register(swipeRoutes);
  await app.register(relayRoutes);
  await app.register(reportRoutes);
  await app.register(smsRoutes);
  await app.register(topUpRoutes);
  await app.register(blacklistRoutes);
  await app.register(replacementRoutes);
  await app.register(settlementRoutes);
  await app.register(processRoutes);
  await app.register(consolePlugin);
  return app;
}
