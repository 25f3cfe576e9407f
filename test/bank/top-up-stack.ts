// Everything a bank top-up runs against, real where it can be: the shared PostgreSQL and Temporal dev
// server, the API listening on a real port, a worker, the bank simulator as its own process, and the
// Twilio double that the real twilio SDK sends to.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { buildApp } from '../../api/app.ts';
import { createHttpBankGateway } from '../../core/bank/http-gateway.ts';
import { createPool, type Pool } from '../../core/db/pool.ts';
import { repoRoot } from '../../core/paths.ts';
import { smsPaths } from '../../core/sms/from-config.ts';
import { createTwilioSender } from '../../core/sms/sender.ts';
import { readTemporalSettings } from '../../core/temporal-settings.ts';
import { createWarehouseClient } from '../../core/warehouse-client.ts';
import { freePort } from '../../system/ports.ts';
import { createWorker } from '../../worker/worker.ts';
import { smallPoolTuning } from '../support/worker.ts';
import { stackConfig } from '../support/env.ts';
import { startTwilioDouble, type TwilioDouble } from '../sms/twilio-double.ts';

export const ourNumber = '+15005550006';

/** What the simulator answers, loosely typed for tests. */
export interface SimBody {
  balanceFen?: number;
  debits?: Array<{ reference: string; debitId: string }>;
  refunds?: Array<{ debitId: string }>;
  rules?: Array<{ hit: number }>;
  [field: string]: unknown;
}

export interface BankSimulatorProcess {
  url: string;
  apiKey: string;
  process: ChildProcess;
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: SimBody }>;
  stop(): Promise<void>;
}

/** The bank simulator as its own process, as the launcher would start it. */
export async function startBankSimulatorProcess(env: {
  apiKey: string;
  callbackSecret: string;
  callbackUrl?: string;
}): Promise<BankSimulatorProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join('drivers', 'bank-simulator', 'main.ts')],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        BANK_API_KEY: env.apiKey,
        BANK_CALLBACK_SECRET: env.callbackSecret,
        BANK_SIM_CALLBACK_URL: env.callbackUrl ?? '',
        BANK_SIM_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  );
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`bank simulator not ready:\n${output.join('')}`)),
      30_000,
    );
    child.on('message', (message: { type?: string; url?: string }) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message.url!);
      }
    });
    child.once('exit', (code) => reject(new Error(`bank simulator exited ${code}:\n${output.join('')}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    apiKey: env.apiKey,
    process: child,
    async call(method, p, body) {
      const answer = await fetch(new URL(p, url), {
        method,
        headers: { authorization: `Bearer ${env.apiKey}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: answer.status, body: (await answer.json()) as SimBody };
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface TopUpStack {
  app: FastifyInstance;
  db: Pool;
  client: Client;
  twilio: TwilioDouble;
  bank: BankSimulatorProcess;
  taskQueue: string;
  publicBaseUrl: string;
  callbackSecret: string;
  startWorker(): Promise<{ worker: Worker; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

export async function startTopUpStack(taskQueue: string): Promise<TopUpStack> {
  const config = stackConfig();
  const apiPort = await freePort();
  const publicBaseUrl = `http://127.0.0.1:${apiPort}`;
  const apiKey = `bk_${randomBytes(16).toString('hex')}`;
  const callbackSecret = randomBytes(24).toString('hex');
  const callbackUrl = new URL('/api/bank/callbacks', publicBaseUrl).toString();
  const twilio = await startTwilioDouble({
    inboundUrl: new URL(smsPaths.inbound, publicBaseUrl).toString(),
    ourNumber,
  });
  const bank = await startBankSimulatorProcess({ apiKey, callbackSecret, callbackUrl });
  const app = await buildApp(
    {
      ...config,
      TEMPORAL_TASK_QUEUE: taskQueue,
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_FROM: ourNumber,
      PUBLIC_BASE_URL: publicBaseUrl,
      BANK_GATEWAY_URL: bank.url,
      BANK_API_KEY: apiKey,
      BANK_CALLBACK_SECRET: callbackSecret,
    },
    pino({ level: 'error' }),
  );
  await app.listen({ host: '127.0.0.1', port: apiPort });
  const db = createPool(config.DATABASE_URL, { max: 5 });
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection: clientConnection, namespace: readTemporalSettings().namespace });
  const workers = new Set<() => Promise<void>>();

  return {
    app,
    db,
    client,
    twilio,
    bank,
    taskQueue,
    publicBaseUrl,
    callbackSecret,
    /** A real worker with the real SMS sender (SDK → double) and the HTTP bank gateway (→ simulator). */
    async startWorker() {
      const workerDb = createPool(config.DATABASE_URL, { max: 5 });
      const warehouse = createWarehouseClient(config.CLICKHOUSE_URL);
      const { worker, connection } = await createWorker({
        address: config.TEMPORAL_ADDRESS,
        taskQueue,
        deps: {
          db: workerDb,
          warehouse,
          sms: createTwilioSender(workerDb, {
            accountSid: twilio.accountSid,
            authToken: twilio.authToken,
            from: ourNumber,
            statusCallbackUrl: new URL(smsPaths.status, publicBaseUrl).toString(),
            apiBaseUrl: twilio.url,
          }),
          bank: createHttpBankGateway({
            baseUrl: bank.url,
            apiKey,
            callbackUrl,
            requestTimeoutMs: 2_000,
          }),
        },
        log: pino({ level: 'warn' }),
        tuning: smallPoolTuning,
      });
      const running = worker.run();
      const stop = async () => {
        workers.delete(stop);
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running.catch(() => undefined);
        await Promise.all([connection.close(), workerDb.end(), warehouse.close()]);
      };
      workers.add(stop);
      return { worker, stop };
    },
    async stop() {
      for (const stopWorker of [...workers]) await stopWorker();
      await app.close();
      await Promise.all([clientConnection.close(), db.end(), twilio.close(), bank.stop()]);
    },
  };
}
