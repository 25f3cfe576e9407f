// `npm test`: installs whatever the suites need and is missing (the Temporal CLI build, the dbt
// virtualenv, Debian's chromium, the console build), each skipped when already there, then runs vitest.
import { spawn } from 'node:child_process';
import { ensureAdminBuilt } from '../admin/build.ts';
import { repoRoot } from '../core/paths.ts';
import { ensureDbtVenv } from '../warehouse/dbt/venv.ts';
import { ensureChromium } from '../test/support/browser.ts';
import { ensureTemporalCli } from './temporal-cli.ts';

const say = (line: string): void => {
  process.stdout.write(`[setup] ${line}\n`);
};

async function main(): Promise<number> {
  const started = performance.now();
  say(
    'checking tools: Temporal CLI, dbt virtualenv, chromium, console build (each installed once, then reused)',
  );
  // apt-get (chromium) and pip (dbt) both wait on the network; the Go build and Vite want the CPU.
  await Promise.all([ensureChromium(say), ensureDbtVenv({ onProgress: say })]);
  await ensureTemporalCli(say);
  await ensureAdminBuilt({ onProgress: say });
  say(`tools ready in ${((performance.now() - started) / 1000).toFixed(1)} s; running the test suites`);
  const vitest = spawn(
    process.execPath,
    ['node_modules/vitest/vitest.mjs', 'run', ...process.argv.slice(2)],
    {
      cwd: repoRoot,
      stdio: 'inherit',
    },
  );
  return new Promise((resolve) => vitest.on('exit', (code) => resolve(code ?? 1)));
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`set-up failed: ${(error as Error).message}`);
    process.exit(1);
  },
);
