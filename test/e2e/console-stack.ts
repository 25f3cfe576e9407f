import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { buildApp } from '../../api/app.ts';
import { stackConfig } from '../support/env.ts';
import { startTestWorker } from '../support/worker.ts';

/**
 * The real platform behind the console: the API listening on a free port against the run's shared
 * PostgreSQL, Temporal and warehouse (test/support/global-setup.ts), and a worker on a task queue of the
 * suite's own, which this API watches, so /health reports every component up without touching the
 * main queue other suites expect idle. Build admin/dist first: the API looks for it when it starts.
 * CLICKHOUSE_URL may point it at a warehouse of the suite's own (the shared one is the datacenter suite's).
 */
const TASK_QUEUE = 'test-console';

export async function startConsoleStack(
  overrides: { CLICKHOUSE_URL?: string } = {},
): Promise<{ apiUrl: string; stop(): Promise<void> }> {
  const worker = await startTestWorker(TASK_QUEUE);
  const app = await buildApp(
    { ...stackConfig(), TEMPORAL_TASK_QUEUE: TASK_QUEUE, ...overrides },
    pino({ level: 'warn' }),
  );
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
  } catch (error) {
    await Promise.allSettled([app.close(), worker.stop()]);
    throw error;
  }
  const { port } = app.server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}`,
    async stop() {
      await app.close();
      await worker.stop();
    },
  };
}
