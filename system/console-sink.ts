import type { LineSink } from './child.ts';

const colors: Record<string, string> = {
  system: '\x1b[1m',
  relay: '\x1b[90m',
  bank: '\x1b[31m',
  postgres: '\x1b[34m',
  temporal: '\x1b[35m',
  warehouse: '\x1b[33m',
  worker: '\x1b[36m',
  api: '\x1b[32m',
};
const levelNames: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
/** The chatty servers show warnings and worse on the terminal; everything stays in var/log/<name>.log. */
const minimumLevel: Record<string, number> = { postgres: 40, temporal: 40 };
const quietMessages = new Set(['incoming request', 'request completed']);

/**
 * Shows which process said what: each child's pino line becomes `time  name  LEVEL  message`.
 * Lines that are not JSON (a crash trace) are shown as they are.
 */
export function terminalSink(write: (text: string) => void = (text) => process.stdout.write(text)): LineSink {
  const useColor = process.stdout.isTTY;
  return (name, line) => {
    let text = line;
    let level = 30;
    let time = new Date();
    if (line.startsWith('{')) {
      try {
        const record = JSON.parse(line) as {
          level?: number;
          time?: number;
          msg?: string;
          err?: { message?: string };
        };
        level = record.level ?? 30;
        time = new Date(record.time ?? Date.now());
        if (quietMessages.has(record.msg ?? '')) return;
        text = `${levelNames[level] ?? level} ${record.msg ?? ''}${record.err?.message && !record.msg?.includes(record.err.message) ? `: ${record.err.message}` : ''}`;
      } catch {
        // not JSON after all: show it raw
      }
    }
    if (level < (minimumLevel[name] ?? 30)) return;
    const label = name.padEnd(9);
    const stamp = time.toTimeString().slice(0, 8);
    write(
      useColor ? `${stamp} ${colors[name] ?? ''}${label}\x1b[0m ${text}\n` : `${stamp} ${label} ${text}\n`,
    );
  };
}
