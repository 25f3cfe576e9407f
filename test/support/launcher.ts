import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../core/paths.ts';
import { freePort } from '../../system/ports.ts';

export interface LauncherPorts {
  PG_PORT: string;
  TEMPORAL_PORT: string;
  TEMPORAL_UI_PORT: string;
  WAREHOUSE_PORT: string;
  API_PORT: string;
}

export interface RunningLauncher {
  process: ChildProcess;
  output: string[];
  ready: Promise<{ readyS: number; api: string; pids: Record<string, number> }>;
  exited: Promise<number | null>;
}

export async function launcherPorts(): Promise<LauncherPorts> {
  return {
    PG_PORT: String(await freePort()),
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    WAREHOUSE_PORT: String(await freePort()),
    API_PORT: String(await freePort()),
  };
}

/** Runs `system/start.ts` exactly as `npm start` does, on the given ports and data folder. */
export function runLauncher(varDir: string, ports: LauncherPorts): RunningLauncher {
  fs.mkdirSync(varDir, { recursive: true, mode: 0o755 });
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('system', 'start.ts')], {
    cwd: repoRoot,
    env: { ...process.env, ...ports, ONECARD_VAR_DIR: varDir, ONECARD_LOG_STDOUT: '1' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<{ readyS: number; api: string; pids: Record<string, number> }>(
    (resolve, reject) => {
      child.on('message', (message: { type?: string }) => {
        if (message.type === 'ready') resolve(message as never);
      });
      void exited.then((code) =>
        reject(new Error(`the launcher exited with ${code}:\n${output.join('').slice(-3000)}`)),
      );
    },
  );
  // A launcher that is expected to refuse never becomes ready; only callers that await `ready` care.
  ready.catch(() => undefined);
  return { process: child, output, ready, exited };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
