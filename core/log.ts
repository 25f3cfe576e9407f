import fs from 'node:fs';
import pino, { type Logger } from 'pino';
import { varPath } from './paths.ts';

export type { Logger };

/**
 * One JSON log file per process under var/log/, and the same lines on stdout so the launcher can show
 * which process said what. Key material and passwords must never be passed to a logger: the redact list
 * is a last line of defence, not the rule.
 */
export function createProcessLogger(
  processName: string,
  options: { level?: string; stdout?: boolean } = {},
): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  const logDir = varPath('log');
  fs.mkdirSync(logDir, { recursive: true });
  // Opened here, synchronously: a process that exits at once (a refused second launcher) must not find
  // its log file still opening ("sonic boom is not ready yet").
  const fd = fs.openSync(`${logDir}/${processName}.log`, 'a');
  const file = pino.destination({ fd, sync: false });
  const streams: pino.StreamEntry[] = [{ level: level as pino.Level, stream: file }];
  if ((options.stdout ?? true) && process.env.ONECARD_LOG_STDOUT !== '0')
    streams.push({ level: level as pino.Level, stream: process.stdout });
  return pino(
    {
      level,
      base: { proc: processName, pid: process.pid },
      redact: {
        paths: ['password', '*.password', 'authorization', '*.authorization', 'key', '*.key'],
        censor: '[redacted]',
      },
    },
    pino.multistream(streams),
  );
}
