// `npm test`: installs whatever the suites need and is missing (the Temporal CLI build, the dbt
// virtualenv, Debian's chromium, the console build), each skipped when already there, then runs vitest.
import { spawn } from 'node:child_process';
import { ensureAdminBuilt } from '../admin/build.ts';
import { repoRoot } from '../core/paths.ts';
import { ensureDbtVenv } from '../warehouse/dbt/venv.ts';
import { ensureTemporalCli } from './temporal-cli.ts';
import { ensureDebianPackages, ensureSmartcardBinding } from './debian-packages.ts';

const say = (line: string): void => {
  process.stdout.write(`[setup] ${line}\n`);
};

async function main(): Promise<number> {
  const started = performance.now();
  say(
    'checking tools: Temporal CLI, dbt virtualenv, chromium, console build (each installed once, then reused)',
  );
  // apt-get and pip both wait on the network; the Go build and Vite want the CPU. Debian packages: the
  // browser for the console test, the PC/SC reader stack and the headers the smartcard binding builds on.
  await Promise.all([
    ensureDebianPackages(['chromium', 'pcscd', 'vsmartcard-vpcd', 'libpcsclite-dev'], say),
    ensureDbtVenv({ onProgress: say }),
  ]);
  await ensureSmartcardBinding(say);
  await ensureTemporalCli(say);
  await ensureAdminBuilt({ onProgress: say });
  say(`tools ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  say('type-checking and linting (tsc, ESLint, Prettier)');
  for (const [tool, args] of checks) {
    if ((await run(tool, args)) !== 0) {
      say(`${tool} found problems (above); fix them, then run npm test again`);
      return 1;
    }
  }
  say('running the test suites');
  return run('node_modules/vitest/vitest.mjs', ['run', ...process.argv.slice(2)]);
}

const checks: Array<[string, string[]]> = [
  ['node_modules/typescript/bin/tsc', ['--noEmit', '-p', 'tsconfig.json']],
  ['node_modules/eslint/bin/eslint.js', ['.']],
  ['node_modules/prettier/bin/prettier.cjs', ['--check', '--log-level', 'warn', '.']],
];

function run(script: string, args: string[]): Promise<number> {
  const child = spawn(process.execPath, [script, ...args], { cwd: repoRoot, stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`set-up failed: ${(error as Error).message}`);
    process.exit(1);
  },
);
