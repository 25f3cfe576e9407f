import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root, wherever the checkout lives. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Project-local, git-ignored tools (the Temporal CLI build, the dbt virtualenv). */
export const toolsDir = path.join(repoRoot, '.tools');

/**
 * Everything the embedded system writes (databases, logs, caches) lives under one git-ignored folder,
 * so a test run or a second checkout can point ONECARD_VAR_DIR elsewhere without touching the demo's data.
 */
export function varDir(): string {
  return path.resolve(process.env.ONECARD_VAR_DIR ?? path.join(repoRoot, 'var'));
}

export function varPath(...parts: string[]): string {
  return path.join(varDir(), ...parts);
}
