import type { WorkerOptions } from '@temporalio/worker';
import { readTemporalSettings, type WorkerTuning } from '../core/temporal-settings.ts';

export type { WorkerTuning };

const intRange = (value: unknown, min: number, max: number) =>
  Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;

/**
 * What is wrong with a tuning for a worker whose activities share a pool of `dbPoolMax` connections;
 * empty when nothing is. Each activity and local activity holds at most one connection at a time, so a
 * slot beyond the pool would wait on the pool (and time out there) instead of in the task queue.
 */
export function tuningProblems(tuning: WorkerTuning, dbPoolMax: number): string[] {
  const problems: string[] = [];
  const limits: Record<keyof WorkerTuning, [number, number]> = {
    workflowTaskSlots: [2, 1000],
    workflowTaskPollsMax: [2, 100],
    nonStickyToStickyPollRatio: [0, 1],
    activitySlots: [1, 1000],
    activityPollsMax: [1, 100],
    localActivitySlots: [1, 1000],
    cachedWorkflowsMax: [2, 100_000],
  };
  for (const [key, [min, max]] of Object.entries(limits) as Array<[keyof WorkerTuning, [number, number]]>) {
    const value = tuning[key];
    const ok =
      key === 'nonStickyToStickyPollRatio'
        ? typeof value === 'number' && value > min && value <= max
        : intRange(value, min, max);
    if (!ok)
      problems.push(
        `${key} must be ${key === 'nonStickyToStickyPollRatio' ? 'a number in (0, 1]' : `a whole number from ${min} to ${max}`}, not ${value}`,
      );
  }
  if (problems.length > 0) return problems;
  if (tuning.workflowTaskSlots > tuning.cachedWorkflowsMax)
    problems.push(
      'workflowTaskSlots must not exceed cachedWorkflowsMax (a task in hand keeps its workflow cached)',
    );
  if (tuning.workflowTaskPollsMax > tuning.workflowTaskSlots)
    problems.push('workflowTaskPollsMax must not exceed workflowTaskSlots (a poll needs a free slot)');
  if (tuning.activityPollsMax > tuning.activitySlots)
    problems.push('activityPollsMax must not exceed activitySlots (a poll needs a free slot)');
  if (Math.floor(tuning.workflowTaskPollsMax * tuning.nonStickyToStickyPollRatio) < 1)
    problems.push(
      'workflowTaskPollsMax × nonStickyToStickyPollRatio must leave at least one poll on the task queue',
    );
  if (tuning.activitySlots + tuning.localActivitySlots > dbPoolMax)
    problems.push(
      `activitySlots + localActivitySlots (${tuning.activitySlots + tuning.localActivitySlots}) must not exceed ` +
        `the activities' database pool (${dbPoolMax} connections)`,
    );
  return problems;
}

/** temporal.yaml's tuning with the caller's changes over it (a test worker on a small pool). */
export function workerTuning(changes: Partial<WorkerTuning> = {}): WorkerTuning {
  return { ...readTemporalSettings().worker, ...changes };
}

/** The connections a worker's activity pool needs for this tuning. */
export const workerPoolMax = (tuning: WorkerTuning) => tuning.activitySlots + tuning.localActivitySlots;

/** The Worker.create options of a tuning that passed tuningProblems. */
export function workerOptions(tuning: WorkerTuning): Partial<WorkerOptions> {
  return {
    maxConcurrentWorkflowTaskExecutions: tuning.workflowTaskSlots,
    workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: tuning.workflowTaskPollsMax },
    nonStickyToStickyPollRatio: tuning.nonStickyToStickyPollRatio,
    maxConcurrentActivityTaskExecutions: tuning.activitySlots,
    activityTaskPollerBehavior: { type: 'simple-maximum', maximum: tuning.activityPollsMax },
    maxConcurrentLocalActivityExecutions: tuning.localActivitySlots,
    maxCachedWorkflows: tuning.cachedWorkflowsMax,
  };
}
