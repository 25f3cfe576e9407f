import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { execa } from 'execa';
import { repoRoot } from '../../core/paths.ts';
import { ensureDbtVenv } from './venv.ts';

/**
 * Runs the warehouse's dbt project with the pinned dbt from .tools/dbt-venv, through execa.
 *
 * - The connection comes from a ClickHouse URL (`http://user:password@host:port`); it is handed to dbt only
 *   through DBT_CLICKHOUSE_* environment variables read by warehouse/profiles.yml, so the password never
 *   appears on a command line, in `ps`, or in the events this module emits.
 * - dbt runs with `--log-format json`; each line becomes a typed event (node started/finished, logs).
 * - The outcome is read from run_results.json into a typed result. Failures (bad SQL, failing tests,
 *   connection refused, bad project) come back as `success: false` with messages, never as a thrown
 *   stack trace. Only a missing/broken dbt install throws.
 */

export type DbtCommand =
  | 'debug'
  | 'run'
  | 'test'
  | 'build'
  | 'compile'
  | 'seed'
  | 'ls'
  | 'parse'
  | 'docs generate'
  | 'source freshness';

export type DbtEvent =
  | { type: 'node-started'; uniqueId: string; ts: string; message: string }
  | {
      type: 'node-finished';
      uniqueId: string;
      status: string;
      executionTimeS: number | undefined;
      ts: string;
      message: string;
    }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; name: string; ts: string; message: string };

export type DbtNodeResult = {
  uniqueId: string;
  status: string;
  message: string | null;
  executionTimeS: number;
  failures: number | null;
};

export type DbtResult = {
  command: DbtCommand;
  success: boolean;
  exitCode: number | undefined;
  elapsedS: number;
  results: DbtNodeResult[];
  /** Error-level messages dbt logged (compile errors, connection failures...). */
  errors: string[];
  invocationId: string | undefined;
  targetPath: string;
};

export type RunDbtOptions = {
  /** ClickHouse HTTP URL, may carry user:password. */
  clickhouseUrl: string;
  args?: string[];
  onEvent?: (e: DbtEvent) => void;
  signal?: AbortSignal;
  /** Defaults to warehouse/ (dbt_project.yml). */
  projectDir?: string;
  /** Defaults to <projectDir>/target; give each concurrent run its own. */
  targetPath?: string;
  /** ClickHouse database dbt builds models in (DBT_CLICKHOUSE_SCHEMA); default onecard_analytics. */
  schema?: string;
  /** Extra environment for dbt (e.g. DBT_ONECARD_RAW_SCHEMA). */
  env?: Record<string, string>;
};

export const dbtProjectDir = path.join(repoRoot, 'warehouse');

/** DBT_CLICKHOUSE_* variables for profiles.yml from a ClickHouse URL. */
export function connectionEnv(clickhouseUrl: string): Record<string, string> {
  const u = new URL(clickhouseUrl);
  const secure = u.protocol === 'https:';
  return {
    DBT_CLICKHOUSE_HOST: u.hostname.replace(/^\[|\]$/g, ''),
    DBT_CLICKHOUSE_PORT: u.port || (secure ? '8443' : '8123'),
    DBT_CLICKHOUSE_SECURE: secure ? 'True' : 'False', // Python literals, for as_bool
    DBT_CLICKHOUSE_USER: decodeURIComponent(u.username) || 'default',
    DBT_CLICKHOUSE_PASSWORD: decodeURIComponent(u.password),
  };
}

type RawLine = {
  info?: { name?: string; level?: string; msg?: string; ts?: string; invocation_id?: string };
  data?: {
    node_info?: { unique_id?: string; node_status?: string };
    status?: string;
    execution_time?: number;
    run_result?: { execution_time?: number };
  };
};

const RESULT_EVENTS = new Set([
  'LogModelResult',
  'LogTestResult',
  'LogSeedResult',
  'LogSnapshotResult',
  'LogNodeResult',
  'LogFreshnessResult',
]);

function toEvent(line: RawLine): DbtEvent | undefined {
  const info = line.info;
  if (!info?.name) return undefined;
  const ts = info.ts ?? '';
  const message = info.msg ?? '';
  const node = line.data?.node_info;
  // Info-level per-node lines (NodeStart/NodeFinished are debug-level and absent at the default log level).
  if ((info.name === 'LogStartLine' || info.name === 'NodeStart') && node?.unique_id) {
    return { type: 'node-started', uniqueId: node.unique_id, ts, message };
  }
  if ((RESULT_EVENTS.has(info.name) || info.name === 'NodeFinished') && node?.unique_id) {
    return {
      type: 'node-finished',
      uniqueId: node.unique_id,
      status: line.data?.status ?? node.node_status ?? 'unknown',
      executionTimeS: line.data?.execution_time ?? line.data?.run_result?.execution_time,
      ts,
      message,
    };
  }
  const level =
    info.level === 'warn' || info.level === 'error' || info.level === 'debug' ? info.level : 'info';
  return { type: 'log', level, name: info.name, ts, message };
}

type RunResultsJson = {
  metadata?: { invocation_id?: string };
  elapsed_time?: number;
  results?: Array<{
    unique_id: string;
    status: string;
    message?: string | null;
    execution_time?: number;
    failures?: number | null;
  }>;
};

export async function runDbt(command: DbtCommand, opts: RunDbtOptions): Promise<DbtResult> {
  const { dbtBin } = await ensureDbtVenv();
  const projectDir = opts.projectDir ?? dbtProjectDir;
  const targetPath = opts.targetPath ?? path.join(projectDir, 'target');
  const runResults = path.join(targetPath, 'run_results.json');
  fs.rmSync(runResults, { force: true });
  const password = connectionEnv(opts.clickhouseUrl).DBT_CLICKHOUSE_PASSWORD;
  const scrub = (s: string) => (password ? s.split(password).join('[redacted]') : s);

  const args = [
    ...command.split(' '),
    '--log-format',
    'json',
    '--no-use-colors',
    '--project-dir',
    projectDir,
    '--profiles-dir',
    projectDir,
    ...(opts.args ?? []),
  ];
  const started = Date.now();
  const errors: string[] = [];
  let invocationId: string | undefined;
  const plainTail: string[] = [];
  const child = execa(dbtBin, args, {
    cwd: projectDir,
    reject: false,
    all: true,
    cancelSignal: opts.signal,
    env: {
      ...connectionEnv(opts.clickhouseUrl),
      DBT_CLICKHOUSE_SCHEMA: opts.schema ?? 'onecard_analytics',
      DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
      DBT_VERSION_CHECK: 'false',
      DBT_PARTIAL_PARSE: 'false',
      // Not flags: `dbt debug` accepts neither --target-path nor --log-path.
      DBT_TARGET_PATH: targetPath,
      DBT_LOG_PATH: path.join(targetPath, 'logs'),
      ...opts.env,
    },
  });
  const rl = readline.createInterface({ input: child.all! });
  const linesDone = new Promise<void>((resolve) => rl.once('close', () => resolve()));
  rl.on('line', (text) => {
    let parsed: RawLine | undefined;
    try {
      parsed = JSON.parse(text) as RawLine;
    } catch {
      parsed = undefined;
    }
    const event: DbtEvent = (parsed && toEvent(parsed)) ?? {
      type: 'log',
      level: 'info',
      name: 'stdout',
      ts: '',
      message: text,
    };
    event.message = scrub(event.message);
    if ((!parsed || (event.type === 'log' && event.name === 'DebugCmdResult')) && text.trim()) {
      plainTail.push(event.message);
      if (plainTail.length > 20) plainTail.shift();
    }
    invocationId ??= parsed?.info?.invocation_id;
    if (event.type === 'log' && event.level === 'error' && event.message.trim())
      errors.push(event.message.trim());
    opts.onEvent?.(event);
  });
  const done = await child;
  await linesDone;

  let json: RunResultsJson | undefined;
  if (fs.existsSync(runResults)) {
    try {
      json = JSON.parse(fs.readFileSync(runResults, 'utf8')) as RunResultsJson;
    } catch (err) {
      errors.push(`cannot read ${runResults}: ${(err as Error).message}`);
    }
  }
  if (done.exitCode !== 0 && errors.length === 0 && plainTail.length) errors.push(plainTail.join('\n'));
  if (done.isCanceled) errors.push('dbt was cancelled');
  else if (done.failed && done.exitCode === undefined)
    errors.push(scrub(done.shortMessage ?? 'dbt did not run'));
  const results: DbtNodeResult[] = (json?.results ?? []).map((r) => ({
    uniqueId: r.unique_id,
    status: r.status,
    message: r.message == null ? null : scrub(r.message),
    executionTimeS: r.execution_time ?? 0,
    failures: r.failures ?? null,
  }));
  const bad = new Set(['error', 'fail', 'runtime error', 'skipped']);
  return {
    command,
    success: done.exitCode === 0 && !results.some((r) => bad.has(r.status)),
    exitCode: done.exitCode,
    elapsedS: json?.elapsed_time ?? (Date.now() - started) / 1000,
    results,
    errors,
    invocationId: json?.metadata?.invocation_id ?? invocationId,
    targetPath,
  };
}
