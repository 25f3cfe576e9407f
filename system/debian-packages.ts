import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../core/paths.ts';

/** Debian packages that are not installed (dpkg says so), in the order given. */
export function missingDebianPackages(names: readonly string[]): string[] {
  return names.filter((name) => {
    const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return result.status !== 0 || !result.stdout.includes('install ok installed');
  });
}

/**
 * Installs missing Debian packages with apt-get (as root), saying what it does; a no-op when all are
 * there. The PC/SC suites need pcscd, vsmartcard-vpcd (the virtual reader driver) and libpcsclite-dev
 * (to build the `smartcard` binding).
 */
export async function ensureDebianPackages(
  names: readonly string[],
  say: (line: string) => void,
): Promise<void> {
  const missing = missingDebianPackages(names);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0)
    throw new Error(
      `Debian packages missing: ${missing.join(', ')}. Run: sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`,
    );
  say(`debian: installing ${missing.join(', ')} with apt-get…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], env, say);
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], env, say);
  const still = missingDebianPackages(missing);
  if (still.length > 0) throw new Error(`apt-get ran but ${still.join(', ')} is still not installed`);
  say(`debian: installed ${missing.join(', ')}`);
}

/**
 * The `smartcard` binding is an optional dependency: on a machine without libpcsclite-dev its build fails
 * without failing `npm install`, and npm then leaves the package out altogether. Once the headers are
 * there, install it from the lock file again (when npm left it out) or build it (when it is there unbuilt).
 */
export async function ensureSmartcardBinding(say: (line: string) => void): Promise<void> {
  const packageDir = path.join(repoRoot, 'node_modules', 'smartcard');
  const binary = path.join(packageDir, 'build', 'Release', 'smartcard_napi.node');
  if (fs.existsSync(binary)) return;
  if (fs.existsSync(packageDir)) {
    say('pc/sc: building the smartcard binding (npm rebuild smartcard)…');
    await run('npm', ['rebuild', 'smartcard', '--foreground-scripts'], process.env, say);
  } else {
    say('pc/sc: installing the smartcard binding from package-lock.json now that libpcsclite-dev is here…');
    await run(
      'npm',
      ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error'],
      process.env,
      say,
    );
  }
  if (!fs.existsSync(binary)) throw new Error(`the smartcard binding was not built: ${binary} is missing`);
}

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  say: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const forward = (chunk: Buffer) => {
      for (const line of chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim())) {
        say(`${command}: ${line}`);
        tail.push(line);
        if (tail.length > 20) tail.shift();
      }
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.on('error', (error) =>
      reject(new Error(`cannot run ${command}: ${error.message}`, { cause: error })),
    );
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${tail.join(' | ')}`)),
    );
  });
}
