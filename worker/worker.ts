import os from 'node:os';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.ts';
import { readTemporalSettings } from '../core/temporal-settings.ts';
import type { Logger } from '../core/log.ts';
import { workflowBundle } from './bundle.ts';
import packageJson from '../package.json' with { type: 'json' };

/** The worker's identity says who and which build polls, so /health can show the worker's version. */
export function workerIdentity(): string {
  return `onecard-worker/${packageJson.version}@${os.hostname()}:${process.pid}`;
}

export async function createWorker(options: {
  address: string;
  namespace?: string;
  taskQueue?: string;
  deps: ActivityDeps;
  log: Logger;
}): Promise<{ worker: Worker; connection: NativeConnection }> {
  const settings = readTemporalSettings();
  const connection = await NativeConnection.connect({ address: options.address });
  const worker = await Worker.create({
    connection,
    namespace: options.namespace ?? settings.namespace,
    taskQueue: options.taskQueue ?? settings.taskQueue,
    workflowBundle: await workflowBundle(options.log),
    activities: createActivities(options.deps),
    identity: workerIdentity(),
  });
  return { worker, connection };
}
