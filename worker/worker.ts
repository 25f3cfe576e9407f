import os from 'node:os';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.ts';
import { readTemporalSettings } from '../core/temporal-settings.ts';
import type { Logger } from '../core/log.ts';
import { workflowBundle } from './bundle.ts';
import { tuningProblems, workerOptions, workerTuning, type WorkerTuning } from './tuning.ts';
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
  /** Changes to temporal.yaml's tuning (a test worker on a small pool). */
  tuning?: Partial<WorkerTuning>;
}): Promise<{ worker: Worker; connection: NativeConnection }> {
  const settings = readTemporalSettings();
  const tuning = workerTuning(options.tuning);
  const problems = tuningProblems(tuning, options.deps.db.options.max ?? 10);
  if (problems.length > 0) throw new Error(`worker tuning (temporal.yaml worker:): ${problems.join('; ')}`);
  const connection = await NativeConnection.connect({ address: options.address });
  const worker = await Worker.create({
    connection,
    namespace: options.namespace ?? settings.namespace,
    taskQueue: options.taskQueue ?? settings.taskQueue,
    workflowBundle: await workflowBundle(options.log),
    activities: createActivities(options.deps),
    identity: workerIdentity(),
    ...workerOptions(tuning),
  });
  return { worker, connection };
}
