import { runDbt, type DbtEvent, type DbtResult, type RunDbtOptions } from './dbt.ts';

/**
 * The nightly build of every model and test (`dbt build`), summed up for whoever acts on it (the daily
 * settlement workflow, an operator): which models failed and why, which tests failed with how many rows,
 * what was skipped because something upstream failed. dbt-clickhouse builds each table beside the old one
 * and swaps them only on success, so a failed model leaves the previous day's mart in place.
 */
export interface MartsBuild {
  success: boolean;
  elapsedS: number;
  models: number;
  tests: number;
  failedModels: Array<{ model: string; message: string }>;
  /** Data tests and unit tests (a unit test fails first when a model's SQL is broken, and the model is skipped). */
  failedTests: Array<{ test: string; failures: number | null; message: string }>;
  skipped: string[];
  errors: string[];
  dbt: DbtResult;
}

const shortName = (uniqueId: string) => uniqueId.split('.').slice(2).join('.');

export function summarize(dbt: DbtResult): MartsBuild {
  const nodes = (kind: string) => dbt.results.filter((r) => r.uniqueId.startsWith(`${kind}.`));
  const failed = (s: string) => s === 'error' || s === 'fail' || s === 'runtime error';
  return {
    success: dbt.success,
    elapsedS: dbt.elapsedS,
    models: nodes('model').length,
    tests: nodes('test').length,
    failedModels: nodes('model')
      .filter((r) => failed(r.status))
      .map((r) => ({ model: shortName(r.uniqueId), message: (r.message ?? 'failed').trim() })),
    failedTests: [...nodes('unit_test'), ...nodes('test')]
      .filter((r) => failed(r.status))
      .map((r) => ({
        test: shortName(r.uniqueId),
        failures: r.failures,
        message: (r.message ?? 'failed').trim(),
      })),
    skipped: dbt.results.filter((r) => r.status === 'skipped').map((r) => shortName(r.uniqueId)),
    errors: dbt.errors,
    dbt,
  };
}

export async function buildMarts(
  options: RunDbtOptions & { onProgress?: (line: string) => void },
): Promise<MartsBuild> {
  const onEvent = (e: DbtEvent) => {
    options.onEvent?.(e);
    if (e.type === 'node-finished') options.onProgress?.(`${e.status} ${shortName(e.uniqueId)}`);
  };
  return summarize(await runDbt('build', { ...options, onEvent }));
}
