import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from './paths.ts';

/**
 * How much the worker takes on at once (temporal.yaml `worker:`), checked by worker/tuning.ts before the
 * worker starts.
 */
export interface WorkerTuning {
  /** Workflow tasks in hand at once. */
  workflowTaskSlots: number;
  /** Workflow-task poll calls at most, shared between the task queue and this worker's sticky queue. */
  workflowTaskPollsMax: number;
  /**
   * The share of those polls on the shared task queue, where every new workflow's first task waits; the
   * rest poll the sticky queue, where the tasks of workflows this worker holds in its cache come.
   */
  nonStickyToStickyPollRatio: number;
  /** Activities (SMS, the bank) running at once, and their poll calls at most. */
  activitySlots: number;
  activityPollsMax: number;
  /** Local activities (steps in our PostgreSQL) running at once. */
  localActivitySlots: number;
  /** Workflows kept in memory between their tasks, so a task does not replay the history. */
  cachedWorkflowsMax: number;
}

export interface TemporalSettings {
  cli: { module: string; version: string };
  devServer: { ip: string; port: number; uiPort: number; dbFile: string; logLevel: string };
  namespace: string;
  taskQueue: string;
  searchAttributes: Record<
    string,
    'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList'
  >;
  dynamicConfig: Record<string, unknown>;
  /** The worker's concurrency, checked by worker/tuning.ts when a worker starts. */
  worker: WorkerTuning;
}

/** temporal.yaml is the one place that names the namespace, task queue and search attributes. */
export function readTemporalSettings(file = path.join(repoRoot, 'temporal.yaml')): TemporalSettings {
  const settings = parse(fs.readFileSync(file, 'utf8')) as TemporalSettings;
  for (const key of [
    'cli',
    'devServer',
    'namespace',
    'taskQueue',
    'searchAttributes',
    'dynamicConfig',
    'worker',
  ] as const) {
    if (settings[key] === undefined) throw new Error(`temporal.yaml: missing "${key}"`);
  }
  return settings;
}
