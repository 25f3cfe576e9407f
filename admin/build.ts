import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const adminDir = path.dirname(fileURLToPath(import.meta.url));
const repoDir = path.dirname(adminDir);
const distDir = path.join(adminDir, 'dist');
const configFile = path.join(adminDir, 'vite.config.ts');
const hashFile = path.join(distDir, '.build-hash');

// Packages whose version changes the bundle. A new version of any of them means a rebuild.
const BUNDLED_PACKAGES = [
  'vite',
  '@vitejs/plugin-react',
  'react',
  'react-dom',
  'react-admin',
  'ra-core',
  'ra-ui-materialui',
  'ra-i18n-polyglot',
  'ra-language-english',
  '@mui/material',
  '@mui/icons-material',
];
const SOURCE_FILES_MAX = 5_000;

export interface EnsureAdminBuiltOptions {
  onProgress?: (line: string) => void;
  /** Build even when the sources have not changed. */
  force?: boolean;
}

/**
 * Builds the console into admin/dist with Vite, unless admin/dist/.build-hash says the last build was made
 * from the same sources, config and package versions. The API serves admin/dist under /admin/.
 */
export async function ensureAdminBuilt(
  opts: EnsureAdminBuiltOptions = {},
): Promise<{ distDir: string; built: boolean }> {
  const progress = opts.onProgress ?? ((line: string) => console.log(line));
  const hash = await sourceHash();
  const previous = await readFile(hashFile, 'utf8').catch(() => '');
  if (!opts.force && previous.trim() === hash && existsSync(path.join(distDir, 'index.html'))) {
    progress(`admin: console is up to date in ${path.relative(repoDir, distDir)}/`);
    return { distDir, built: false };
  }

  progress(`admin: building the console with Vite (${previous ? 'sources changed' : 'no previous build'})…`);
  const started = performance.now();
  const { build, createLogger } = await import('vite');
  const logger = createLogger('info', { prefix: '[admin]' });
  await build({
    configFile,
    logLevel: 'info',
    customLogger: {
      ...logger,
      // Vite's reporter insists these return undefined, whatever the caller's progress function returns.
      info: (msg) => void progress(`admin: ${msg}`),
      warn: (msg) => void progress(`admin: warning: ${msg}`),
      warnOnce: (msg) => void progress(`admin: warning: ${msg}`),
    },
  });
  await writeFile(hashFile, `${hash}\n`);
  progress(`admin: built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { distDir, built: true };
}

async function sourceHash(): Promise<string> {
  const hash = createHash('sha256');
  const files = [
    ...(await listFiles(path.join(adminDir, 'src'))),
    path.join(adminDir, 'index.html'),
    configFile,
  ].sort();
  for (const file of files) {
    hash.update(`file ${path.relative(adminDir, file)}\0`);
    hash.update(await readFile(file));
    hash.update('\0');
  }
  for (const name of BUNDLED_PACKAGES) {
    hash.update(`package ${name}@${await packageVersion(name)}\0`);
  }
  return hash.digest('hex');
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  if (files.length > SOURCE_FILES_MAX) {
    throw new Error(`admin: ${dir} holds ${files.length} files, more than the ${SOURCE_FILES_MAX} expected`);
  }
  return files;
}

// Read package.json from node_modules directly: several of these packages do not export it.
async function packageVersion(name: string): Promise<string> {
  try {
    const json = JSON.parse(await readFile(path.join(repoDir, 'node_modules', name, 'package.json'), 'utf8'));
    return String(json.version);
  } catch {
    return 'missing';
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const force = process.argv.includes('--force');
  ensureAdminBuilt({ force }).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
