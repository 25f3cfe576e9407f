import fs from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { repoRoot } from '../../core/paths.ts';
import { freePort } from '../../system/ports.ts';
import { startStack, type RunningStack } from '../../system/stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: RunningStack['env'] & { varDir: string };
  }
}

/**
 * Starts the real components once for the whole run, on free ports, under var/test/ (wiped first), with
 * Temporal's state in memory. Suites run their own worker and API in-process against it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // One folder per run, so two runs on one machine (a developer's and an agent's) never share data.
  const testRoot = path.join(repoRoot, 'var', 'test');
  removeFoldersOfEndedRuns(testRoot);
  const varDir = path.join(testRoot, `stack-${process.pid}`);
  fs.mkdirSync(varDir, { recursive: true, mode: 0o755 });
  const log = fs.createWriteStream(path.join(varDir, 'stack-output.log'));
  const stack = await startOnFreePorts(varDir, log);
  process.env.ONECARD_VAR_DIR = varDir;
  project.provide('stack', { ...stack.env, varDir });
  return async () => {
    await stack.stop();
    log.end();
    fs.rmSync(varDir, { recursive: true, force: true });
  };
}

/** A free port can be taken by another program before we bind it; then try again with new ones. */
async function startOnFreePorts(varDir: string, log: fs.WriteStream): Promise<RunningStack> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStack({
        varDir,
        host: '127.0.0.1',
        ports: {
          postgres: await freePort(),
          temporal: await freePort(),
          temporalUi: await freePort(),
          warehouse: await freePort(),
          api: await freePort(),
        },
        external: {},
        processes: { worker: false, api: false },
        temporalInMemory: true,
        sink: (name, line) => log.write(`${name} ${line}\n`),
        progress: (message) => process.stdout.write(`[test stack] ${message}\n`),
      });
    } catch (error) {
      if (attempt >= 3 || !/in use/.test((error as Error).message)) throw error;
      process.stdout.write(`[test stack] ${(error as Error).message}; trying other ports\n`);
    }
  }
}

function removeFoldersOfEndedRuns(testRoot: string): void {
  if (!fs.existsSync(testRoot)) return;
  for (const name of fs.readdirSync(testRoot)) {
    const pid = /^stack-(\d+)$/.exec(name)?.[1];
    if (!pid) continue;
    try {
      process.kill(Number(pid), 0);
    } catch {
      fs.rmSync(path.join(testRoot, name), { recursive: true, force: true });
    }
  }
}
