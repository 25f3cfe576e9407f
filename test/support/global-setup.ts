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
  const varDir = path.join(repoRoot, 'var', 'test', 'stack');
  fs.rmSync(varDir, { recursive: true, force: true });
  fs.mkdirSync(varDir, { recursive: true, mode: 0o755 });
  const log = fs.createWriteStream(path.join(varDir, 'stack-output.log'));
  const stack = await startStack({
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
  process.env.ONECARD_VAR_DIR = varDir;
  project.provide('stack', { ...stack.env, varDir });
  return async () => {
    await stack.stop();
    log.end();
  };
}
