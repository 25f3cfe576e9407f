// `npm run bench -- <name>`: runs bench/<name>.ts. Each benchmark prints its figures as one JSON object on
// its last line; BENCHMARKS.md records them with the command, machine and date.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { repoRoot } from '../core/paths.ts';
import { relayNodeFlags } from '../system/node-flags.ts';

const available = fs
  .readdirSync(path.join(repoRoot, 'bench'))
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
  .map((file) => file.replace(/\.ts$/, ''));
const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [options]`);
  process.exit(2);
}
// A benchmark that runs a component's code in its own process runs under that component's V8 flags.
const nodeFlags: Record<string, readonly string[]> = { warehouse: relayNodeFlags };
const flags = nodeFlags[name] ?? [];
if (flags.every((flag) => process.execArgv.includes(flag))) {
  process.argv = [process.argv[0]!, path.join(repoRoot, 'bench', `${name}.ts`), ...args];
  await import(`./${name}.ts`);
} else {
  // The flags last, so that they win over any the parent had.
  const bench = spawn(process.execPath, [...process.execArgv, ...flags, process.argv[1]!, name, ...args], {
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => bench.kill(signal));
  bench.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
