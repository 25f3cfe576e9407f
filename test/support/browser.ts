import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { chromium, type Browser } from 'playwright-core';

// Browser tests use Debian's chromium, never a downloaded browser (no network here but the registries).
export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The path of Debian's chromium, installing the `chromium` package with apt-get first if it is missing. */
export async function ensureChromium(
  onProgress: (line: string) => void = (line) => console.log(line),
): Promise<string> {
  if (await isExecutable(CHROMIUM_PATH)) return CHROMIUM_PATH;

  onProgress(`browser: ${CHROMIUM_PATH} is missing; installing Debian's chromium package with apt-get…`);
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${CHROMIUM_PATH} is missing and this process is not root, so it cannot install it. ` +
        'Run: sudo apt-get update && sudo apt-get install -y chromium',
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], env, onProgress);
  await run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], env, onProgress);
  if (!(await isExecutable(CHROMIUM_PATH))) {
    throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is still not executable`);
  }
  onProgress(`browser: installed ${CHROMIUM_PATH}`);
  return CHROMIUM_PATH;
}

/** Headless Debian chromium through playwright-core. The caller closes it. */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = await ensureChromium();
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  onProgress: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        onProgress(`browser: ${command}: ${line}`);
        tail.push(line);
        if (tail.length > 20) tail.shift();
      }
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.on('error', (err) => reject(new Error(`cannot run ${command}: ${err.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${command} ${args.join(' ')} failed with exit code ${code}; install Debian's chromium by hand ` +
              `(apt-get install -y chromium). Last output:\n${tail.join('\n')}`,
          ),
        );
    });
  });
}
