import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { repoRoot, varPath } from '../core/paths.ts';
import type { Logger } from '../core/log.ts';

const workflowsPath = path.join(repoRoot, 'workflows', 'index.ts');

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|json)$/.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/**
 * Bundling the workflow code takes several seconds on two cores, so the bundle is cached under var/cache,
 * keyed by everything it is built from: the workflow sources, the activity type files they import, and
 * the locked package versions.
 */
export async function workflowBundle(log: Logger): Promise<{ code: string }> {
  const hash = crypto.createHash('sha256');
  const inputs = [
    ...filesUnder(path.join(repoRoot, 'workflows')),
    ...filesUnder(path.join(repoRoot, 'activities')).filter((f) => f.endsWith('types.ts')),
    path.join(repoRoot, 'package-lock.json'),
  ];
  for (const file of inputs) hash.update(file).update(fs.readFileSync(file));
  const cacheFile = varPath('cache', `workflow-bundle-${hash.digest('hex').slice(0, 16)}.js`);
  if (fs.existsSync(cacheFile)) return { code: fs.readFileSync(cacheFile, 'utf8') };
  const started = Date.now();
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    logger: new DefaultLogger('WARN', ({ level, message }) =>
      log[level === 'WARN' ? 'warn' : 'error'](message),
    ),
  });
  fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
  for (const old of fs.readdirSync(path.dirname(cacheFile))) {
    if (old.startsWith('workflow-bundle-')) fs.rmSync(path.join(path.dirname(cacheFile), old));
  }
  fs.writeFileSync(cacheFile, code);
  log.info({ ms: Date.now() - started }, 'bundled the workflow code');
  return { code };
}
