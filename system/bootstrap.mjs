#!/usr/bin/env node
// The entry of `npm start`, `npm test` and `npm run bench`. Plain JavaScript with no dependencies, because
// it runs before node_modules exists: it installs the locked packages when they are missing or stale,
// then hands over to the TypeScript entry.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [command, ...rest] = process.argv.slice(2);
const entries = {
  start: ['system/start.ts'],
  test: ['system/test.ts'],
  bench: ['bench/run.ts'],
};

function say(message) {
  process.stdout.write(`[setup] ${message}\n`);
}

function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    say(`Node.js ${process.versions.node} is too old: the platform needs 20.19 or newer.`);
    process.exit(1);
  }
}

function ensurePackages() {
  const lock = path.join(root, 'package-lock.json');
  const stamp = path.join(root, 'node_modules', '.onecard-installed');
  const want = crypto.createHash('sha256').update(fs.readFileSync(lock)).digest('hex');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) return;
  say('installing npm packages from package-lock.json (the first time takes a minute or two)');
  // Not `npm ci`: it refuses a lock file without the other platforms' optional packages (chDB's macOS
  // engines), which a registry mirror may not serve. `npm install --no-save` installs the locked versions
  // and leaves package.json and the lock file as they are.
  const args = ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error'];
  const result = spawnSync('npm', args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    say('npm install failed: check that the npm registry is reachable, then run the command again.');
    process.exit(result.status ?? 1);
  }
  fs.writeFileSync(stamp, want);
}

if (!entries[command]) {
  say(`usage: node system/bootstrap.mjs ${Object.keys(entries).join('|')} [args]`);
  process.exit(2);
}
checkNode();
ensurePackages();
const child = spawn(process.execPath, ['--import', 'tsx', ...entries[command], ...rest], {
  cwd: root,
  stdio: 'inherit',
});
// A Ctrl-C reaches the whole foreground group; the TypeScript entry does the orderly stop, this one waits.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(signal, () => child.kill(signal === 'SIGINT' ? 'SIGINT' : signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
