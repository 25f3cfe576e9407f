import fs from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { repoRoot } from '../../core/paths.ts';
import { startStackOnFreePorts, type RunningStack } from '../../system/stack.ts';

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
  const stack = await startStackOnFreePorts({
    varDir,
    processes: { worker: false, api: false },
    temporalInMemory: true,
    sink: (name, line) => log.write(`${name} ${line}\n`),
    progress: (message) => process.stdout.write(`[test stack] ${message}\n`),
  });
  process.env.ONECARD_VAR_DIR = varDir;
  project.provide('stack', { ...stack.env, varDir });
  return async () => {
    await stack.stop();
    log.end();
    fs.rmSync(varDir, { recursive: true, force: true });
  };
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
