import fs from 'node:fs';
import path from 'node:path';

interface LockRecord {
  pid: number;
  startedAt: string;
  /** Process groups the launcher started; killed if a crashed launcher left them behind. */
  groups: number[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/**
 * One launcher per var/ folder: a second `npm start` says so instead of starting another PostgreSQL on the
 * same data. A lock left by a launcher that was killed is taken over, and its leftover processes stopped.
 */
export class LauncherLock {
  private constructor(
    private readonly file: string,
    private record: LockRecord,
  ) {}

  static acquire(varDir: string, onStale: (message: string) => void): LauncherLock {
    const file = path.join(varDir, 'run', 'launcher.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const record: LockRecord = { pid: process.pid, startedAt: new Date().toISOString(), groups: [] };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(file, JSON.stringify(record), { flag: 'wx' });
        return new LauncherLock(file, record);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const previous = JSON.parse(fs.readFileSync(file, 'utf8')) as LockRecord;
      if (alive(previous.pid) && commandLine(previous.pid).includes('system/start.ts')) {
        throw new Error(
          `the platform is already running from this folder (launcher pid ${previous.pid}, since ${previous.startedAt}). ` +
            'Use that one, or stop it with Ctrl-C in its terminal first.',
        );
      }
      const leftovers = previous.groups.filter(alive);
      if (leftovers.length > 0) {
        onStale(
          `stopping ${leftovers.length} process group(s) left by a launcher that did not shut down cleanly`,
        );
        for (const group of leftovers) {
          try {
            process.kill(-group, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      fs.rmSync(file, { force: true });
    }
    throw new Error(`could not take the launcher lock ${file}`);
  }

  recordGroup(pid: number): void {
    this.record.groups.push(pid);
    fs.writeFileSync(this.file, JSON.stringify(this.record));
  }

  release(): void {
    fs.rmSync(this.file, { force: true });
  }
}
