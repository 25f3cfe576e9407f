// `npm run bench -- <name>`: runs bench/<name>.ts. Each benchmark prints its figures as one JSON object on
// its last line; BENCHMARKS.md records them with the command, machine and date.
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../core/paths.ts';

const available = fs
  .readdirSync(path.join(repoRoot, 'bench'))
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
  .map((file) => file.replace(/\.ts$/, ''));
const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [options]`);
  process.exit(2);
}
process.argv = [process.argv[0]!, path.join(repoRoot, 'bench', `${name}.ts`), ...args];
await import(`./${name}.ts`);
