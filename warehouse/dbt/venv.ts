import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { execa } from 'execa';
import { repoRoot, toolsDir } from '../../core/paths.ts';

/**
 * The project-local dbt: a Python virtualenv at <repo>/.tools/dbt-venv with the exact versions pinned in
 * warehouse/requirements-dbt.txt (direct) and warehouse/constraints-dbt.txt (the whole transitive set).
 * A stamp file holds the hash of both files and the Python version; when it matches, nothing is done.
 */

export const dbtVenvDir = path.join(toolsDir, 'dbt-venv');
export const requirementsFile = path.join(repoRoot, 'warehouse', 'requirements-dbt.txt');
export const constraintsFile = path.join(repoRoot, 'warehouse', 'constraints-dbt.txt');
const stampFile = path.join(dbtVenvDir, '.onecard-stamp');
const lockDir = `${dbtVenvDir}.lock`;

export type EnsureDbtVenvOptions = { onProgress?: (line: string) => void; python?: string };

export class DbtVenvError extends Error {}

async function pythonVersion(python: string): Promise<string> {
  try {
    const r = await execa(python, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])']);
    return r.stdout.trim();
  } catch (err) {
    const e = err as { code?: string; shortMessage?: string };
    if (e.code === 'ENOENT') {
      throw new DbtVenvError(
        `${python} was not found on PATH: dbt needs Python 3.10 or newer (install python3 and python3-venv)`,
      );
    }
    throw new DbtVenvError(`${python} did not run: ${e.shortMessage ?? String(err)}`);
  }
}

function wantedStamp(pyVersion: string): string {
  const h = createHash('sha256');
  h.update(fs.readFileSync(requirementsFile));
  h.update(fs.readFileSync(constraintsFile));
  h.update(pyVersion);
  return h.digest('hex');
}

/** One installer at a time across processes (test workers, the launcher). Stale locks expire after 20 min. */
async function withLock<T>(fn: () => Promise<T>, onProgress: (l: string) => void): Promise<T> {
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      break;
    } catch {
      try {
        if (Date.now() - fs.statSync(lockDir).mtimeMs > 20 * 60_000)
          fs.rmSync(lockDir, { recursive: true, force: true });
      } catch {
        /* gone already */
      }
      if (!announced) onProgress('another process is installing the dbt virtualenv; waiting for it');
      announced = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

const NETWORK_HINTS = [
  /Failed to establish a new connection/i,
  /Temporary failure in name resolution/i,
  /Name or service not known/i,
  /No matching distribution found/i,
  /Could not find a version that satisfies/i,
  /ConnectionError|ReadTimeout|ProxyError/,
];

export async function ensureDbtVenv(
  opts: EnsureDbtVenvOptions = {},
): Promise<{ dbtBin: string; created: boolean }> {
  const progress = opts.onProgress ?? (() => undefined);
  const python = opts.python ?? 'python3';
  const dbtBin = path.join(dbtVenvDir, 'bin', 'dbt');
  const py = await pythonVersion(python);
  const [major, minor] = py.split('.').map(Number);
  if (major !== 3 || (minor ?? 0) < 10)
    throw new DbtVenvError(`dbt-clickhouse needs Python >= 3.10, but ${python} is ${py}`);
  const stamp = wantedStamp(py);
  const upToDate = () =>
    fs.existsSync(dbtBin) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8').trim() === stamp;
  if (upToDate()) return { dbtBin, created: false };

  return withLock(async () => {
    if (upToDate()) return { dbtBin, created: false };
    progress(`creating the dbt virtualenv at ${dbtVenvDir} (Python ${py})`);
    fs.rmSync(dbtVenvDir, { recursive: true, force: true });
    try {
      await execa(python, ['-m', 'venv', dbtVenvDir]);
    } catch (err) {
      throw new DbtVenvError(
        `${python} -m venv failed (on Debian install python3-venv): ${(err as { stderr?: string }).stderr ?? String(err)}`,
      );
    }
    const pip = path.join(dbtVenvDir, 'bin', 'pip');
    const tail: string[] = [];
    const child = execa(
      pip,
      [
        'install',
        '--disable-pip-version-check',
        '--progress-bar',
        'off',
        '-r',
        requirementsFile,
        '-c',
        constraintsFile,
      ],
      {
        reject: false,
        all: true,
        env: { PIP_NO_INPUT: '1' },
      },
    );
    const rl = readline.createInterface({ input: child.all! });
    rl.on('line', (line) => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      progress(line);
    });
    const result = await child;
    if (result.exitCode !== 0) {
      const text = tail.join('\n');
      const offline = NETWORK_HINTS.some((re) => re.test(text));
      fs.rmSync(dbtVenvDir, { recursive: true, force: true });
      throw new DbtVenvError(
        offline
          ? `pip could not download the pinned dbt packages from PyPI (check network/proxy or PIP_INDEX_URL):\n${text}`
          : `pip install of the pinned dbt packages failed (exit ${result.exitCode}):\n${text}`,
      );
    }
    fs.writeFileSync(stampFile, stamp + '\n');
    progress('dbt virtualenv ready');
    return { dbtBin, created: true };
  }, progress);
}
