/**
 * Starts a warehouse process (warehouse/server/main.ts) for a test suite: own temp data folder unless one is
 * given, a free port, known passwords. Reusable by any suite that needs ClickHouse HTTP:
 *
 *   const wh = await startWarehouse();
 *   const client = createClient({ url: wh.url, username: 'onecard', password: wh.systemPassword });
 *   ...
 *   await wh.stop();
 *
 * chDB binds one data folder per process, so the warehouse always runs in a child process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../core/paths.ts';

export type StartedWarehouse = {
  url: string;
  dataDir: string;
  systemPassword: string;
  analystPassword: string;
  child: ChildProcess;
  /** Everything the process printed so far (stdout + stderr), for diagnostics. */
  output(): string;
  /** SIGTERM and wait for a clean exit (SIGKILL after 20 s). Resolves to the exit code. */
  stop(): Promise<number | null>;
};

export type StartWarehouseOptions = {
  dataDir?: string;
  port?: number;
  systemPassword?: string;
  analystPassword?: string;
  allowAnonymousReadonly?: boolean;
  env?: Record<string, string>;
  timeoutMs?: number;
};

export const warehouseMain = path.join(repoRoot, 'warehouse', 'server', 'main.ts');

/** Forks main.ts under tsx with an IPC channel. Resolves with the child, its output, and how it ended up. */
export function forkWarehouse(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let out = '';
  const child = fork(warehouseMain, [], {
    cwd: repoRoot,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ONECARD_LOG_STDOUT: '1', LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

export async function startWarehouse(opts: StartWarehouseOptions = {}): Promise<StartedWarehouse> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onecard-wh-'));
  const dataDir = opts.dataDir ?? path.join(tmp, 'data');
  const systemPassword = opts.systemPassword ?? 'sys-' + Math.random().toString(36).slice(2);
  const analystPassword = opts.analystPassword ?? 'ana-' + Math.random().toString(36).slice(2);
  const { child, output } = forkWarehouse({
    ONECARD_VAR_DIR: path.join(tmp, 'var'),
    WAREHOUSE_DATA_DIR: dataDir,
    WAREHOUSE_HOST: '127.0.0.1',
    WAREHOUSE_PORT: String(opts.port ?? 0),
    WAREHOUSE_SYSTEM_PASSWORD: systemPassword,
    WAREHOUSE_ANALYST_PASSWORD: analystPassword,
    WAREHOUSE_ALLOW_ANONYMOUS_READONLY: opts.allowAnonymousReadonly ? '1' : '0',
    ...opts.env,
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`warehouse did not start in time:\n${output()}`)),
      opts.timeoutMs ?? 60_000,
    );
    child.on('message', (m: { type?: string; url?: string }) => {
      if (m?.type === 'ready' && m.url) {
        clearTimeout(timer);
        resolve(m.url);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`warehouse exited with code ${code} before it was ready:\n${output()}`));
    });
  });
  return {
    url,
    dataDir,
    systemPassword,
    analystPassword,
    child,
    output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}
