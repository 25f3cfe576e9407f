import { describe, expect, test } from 'vitest';
import { tuningProblems, workerPoolMax, workerTuning } from '../../worker/tuning.ts';
import { smallPoolTuning } from '../support/worker.ts';

describe("the worker's concurrency (temporal.yaml worker:)", () => {
  test('the committed tuning passes on the pool the worker makes for it, and a test worker fits 5 connections', () => {
    const tuning = workerTuning();
    expect(tuningProblems(tuning, workerPoolMax(tuning))).toEqual([]);
    expect(tuningProblems(workerTuning(smallPoolTuning), 5)).toEqual([]);
  });

  test.each([
    ['a pool smaller than the slots', {}, 10, /database pool \(10 connections\)/],
    ['more task slots than cached workflows', { cachedWorkflowsMax: 10 }, 100, /cachedWorkflowsMax/],
    ['more polls than slots', { workflowTaskPollsMax: 60 }, 100, /workflowTaskPollsMax must not exceed/],
    ['no poll left for the shared queue', { nonStickyToStickyPollRatio: 0.01 }, 100, /at least one poll/],
    ['a ratio out of range', { nonStickyToStickyPollRatio: 0 }, 100, /\(0, 1\]/],
    ['a fractional slot count', { activitySlots: 2.5 }, 100, /activitySlots must be a whole number/],
  ])('refuses %s', (_case, changes, dbPoolMax, problem) => {
    expect(tuningProblems(workerTuning(changes), dbPoolMax).join('; ')).toMatch(problem);
  });
});
