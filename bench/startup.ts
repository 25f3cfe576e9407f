// Time from `npm start` to ready, with every tool already installed: once on an empty data folder (first
// start: initdb, migrations, demo seed) and once on the same folder again (a restart). Then the memory of
// each process at rest. `--fresh-clone` also times the set-up of a fresh clone (npm ci and, with a cold
// Go build cache only if you clear it yourself, the Temporal CLI build).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../core/paths.ts';
import { launcherPorts, runLauncher } from '../test/support/launcher.ts';

function rssMbOfGroup(groupId: number): number {
  let kb = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== groupId) continue; // field 5 of stat: the process group
      const status = fs.readFileSync(`/proc/${entry}/status`, 'utf8');
      kb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // the process ended while we looked
    }
  }
  return Math.round(kb / 1024);
}

function rssMbOfProcess(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

async function timedStart(varDir: string, restRssWaitMs: number) {
  const ports = await launcherPorts();
  const launcher = runLauncher(varDir, ports);
  const started = performance.now();
  const ready = await launcher.ready;
  const wallS = (performance.now() - started) / 1000;
  let rssMbByProcess: Record<string, number> = {};
  if (restRssWaitMs > 0) {
    await new Promise((resolve) => setTimeout(resolve, restRssWaitMs));
    rssMbByProcess = Object.fromEntries(
      Object.entries(ready.pids).map(([name, pid]) => [name, rssMbOfGroup(pid)]),
    );
    // The launcher shares the bench's process group; it is one process of its own.
    rssMbByProcess.launcher = rssMbOfProcess(launcher.process.pid!);
  }
  launcher.process.kill('SIGINT');
  await launcher.exited;
  return { wallS, rssMbByProcess };
}

const varDir = path.join(repoRoot, 'var', 'bench', 'startup');
fs.rmSync(varDir, { recursive: true, force: true });
const first = await timedStart(varDir, 0);
console.log(`first start on an empty data folder: ${first.wallS.toFixed(1)} s`);
const restart = await timedStart(varDir, 10_000);
console.log(`restart on the same data: ${restart.wallS.toFixed(1)} s`);
console.log('memory at rest (MB, whole process group):', restart.rssMbByProcess);

let freshCloneSetupS: number | undefined;
if (process.argv.includes('--fresh-clone')) {
  const clone = fs.mkdtempSync(path.join(os.tmpdir(), 'onecard-clone-'));
  const t0 = performance.now();
  execFileSync('git', ['clone', '--quiet', repoRoot, clone]);
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: clone,
    stdio: 'inherit',
  });
  execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      "const m = await import('./system/temporal-cli.ts'); await m.ensureTemporalCli(console.log); const d = await import('./warehouse/dbt/venv.ts'); await d.ensureDbtVenv({ onProgress: console.log }); const a = await import('./admin/build.ts'); await a.ensureAdminBuilt({ onProgress: console.log });",
    ],
    { cwd: clone, stdio: 'inherit' },
  );
  freshCloneSetupS = (performance.now() - t0) / 1000;
  fs.rmSync(clone, { recursive: true, force: true });
}

console.log(
  JSON.stringify({
    readyS: Number(restart.wallS.toFixed(2)),
    firstStartS: Number(first.wallS.toFixed(2)),
    rssMbByProcess: restart.rssMbByProcess,
    ...(freshCloneSetupS === undefined ? {} : { freshCloneSetupS: Number(freshCloneSetupS.toFixed(1)) }),
  }),
);
