import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { toolsDir } from '../core/paths.ts';
import { readTemporalSettings } from '../core/temporal-settings.ts';

export const temporalBin = path.join(toolsDir, 'bin', 'temporal');

/** The module version stamped into the binary by `go install`, or null when it is missing or unreadable. */
async function builtVersion(): Promise<string | null> {
  if (!fs.existsSync(temporalBin)) return null;
  const { stdout, exitCode } = await execa('go', ['version', '-m', temporalBin], { reject: false });
  if (exitCode !== 0) return null;
  return /\bmod\s+github\.com\/temporalio\/cli\s+(\S+)/.exec(stdout)?.[1] ?? null;
}

/**
 * Builds the Temporal CLI from source into .tools/bin (no binary download is possible here) unless the
 * pinned version is already there. The first build takes minutes; Go's module and build caches make
 * later ones quick.
 */
export async function ensureTemporalCli(onProgress: (line: string) => void = () => {}): Promise<string> {
  const { module, version } = readTemporalSettings().cli;
  const have = await builtVersion();
  if (have === version) return temporalBin;
  const go = await execa('go', ['version'], { reject: false });
  if (go.exitCode !== 0) {
    throw new Error(
      'Go is missing: the Temporal CLI is built from source. Install Go 1.25+ (apt-get install golang is too old; use the go.dev toolchain), or set TEMPORAL_ADDRESS to use an existing Temporal.',
    );
  }
  onProgress(`building the Temporal CLI ${version} with ${go.stdout.trim()} (first time: several minutes)`);
  fs.mkdirSync(path.dirname(temporalBin), { recursive: true });
  const started = Date.now();
  const build = execa('go', ['install', `${module}@${version}`], {
    env: { GOBIN: path.dirname(temporalBin), GOFLAGS: '-buildvcs=false' },
    all: true,
    reject: false,
  });
  const ticker = setInterval(
    () => onProgress(`  still building the Temporal CLI (${Math.round((Date.now() - started) / 1000)} s)`),
    15_000,
  );
  build.all?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean))
      if (!line.startsWith('go: downloading')) onProgress(`  ${line}`);
  });
  const result = await build;
  clearInterval(ticker);
  if (result.exitCode !== 0) {
    throw new Error(
      `building the Temporal CLI failed (exit ${result.exitCode}): ${String(result.all).split('\n').slice(-5).join(' | ')}`,
    );
  }
  const now = await builtVersion();
  if (now !== version)
    throw new Error(`built the Temporal CLI but it reports version ${now}, expected ${version}`);
  onProgress(`built the Temporal CLI ${version} in ${Math.round((Date.now() - started) / 1000)} s`);
  return temporalBin;
}
