import fs from 'node:fs';

/** PostgreSQL, Temporal and chDB all stop badly on a full disk; say so before starting any of them. */
export function assertFreeDisk(dir: string, neededMb = 1024): void {
  fs.mkdirSync(dir, { recursive: true });
  const stats = fs.statfsSync(dir);
  const freeMb = Math.floor((Number(stats.bavail) * Number(stats.bsize)) / 1024 / 1024);
  if (freeMb < neededMb) {
    throw new Error(
      `only ${freeMb} MB free on the disk of ${dir}; the embedded databases need at least ${neededMb} MB. ` +
        'Free some space, or set ONECARD_VAR_DIR to a folder on a larger disk.',
    );
  }
}
