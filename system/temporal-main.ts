// The Temporal CLI dev server as a launcher-managed process: flags come from temporal.yaml, ports and the
// SQLite file from the environment the launcher sets. TEMPORAL_ADDRESS replaces all of this with a cluster.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { Connection } from '@temporalio/client';
import { createProcessLogger } from '../core/log.ts';
import { readTemporalSettings } from '../core/temporal-settings.ts';
import { announceReady, onShutdown } from './lifeline.ts';
import { pollUntil } from './child.ts';
import { temporalBin } from './temporal-cli.ts';

const log = createProcessLogger('temporal');
const settings = readTemporalSettings();
const ip = process.env.TEMPORAL_IP ?? settings.devServer.ip;
const port = Number(process.env.TEMPORAL_PORT ?? settings.devServer.port);
const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? settings.devServer.uiPort);
// An empty TEMPORAL_DB_FILE keeps the state in memory (tests); npm start always passes a file under var/.
const dbFile = process.env.TEMPORAL_DB_FILE ?? '';

const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--ui-port', String(uiPort)];
args.push('--log-level', settings.devServer.logLevel, '--namespace', settings.namespace);
if (process.env.TEMPORAL_HEADLESS === '1') args.push('--headless');
if (dbFile) {
  fs.mkdirSync(path.dirname(dbFile), { recursive: true });
  args.push('--db-filename', dbFile);
}
for (const [name, type] of Object.entries(settings.searchAttributes))
  args.push('--search-attribute', `${name}=${type}`);
for (const [key, value] of Object.entries(settings.dynamicConfig)) {
  args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
}

if (!fs.existsSync(temporalBin)) {
  log.fatal(`the Temporal CLI is not built at ${temporalBin}; npm start or npm test builds it`);
  process.exit(2);
}
const server = spawn(temporalBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
const serverExited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
const recentLines: string[] = [];
for (const stream of [server.stdout, server.stderr]) {
  readline.createInterface({ input: stream }).on('line', (line) => {
    recentLines.push(line);
    if (recentLines.length > 20) recentLines.shift();
    // While it stops, the server's own pollers complain that it is stopping: that is not news.
    if (stopping) log.debug(line);
    else if (/level=(ERROR|FATAL)/.test(line)) log.error(line);
    else if (/level=WARN/.test(line)) log.warn(line);
    else log.info(line);
  });
}
server.once('exit', (code, signal) => {
  if (stopping) return;
  const reason =
    recentLines.find((line) => /address already in use|bind|error/i.test(line)) ?? `exit ${code ?? signal}`;
  log.fatal(`the Temporal dev server stopped: ${reason} (TEMPORAL_PORT / TEMPORAL_UI_PORT change the ports)`);
  process.exit(1);
});

let stopping = false;
onShutdown(async (reason) => {
  stopping = true;
  log.info({ reason }, 'stopping the Temporal dev server');
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
  await serverExited;
  clearTimeout(timer);
});

async function main(): Promise<void> {
  const address = `${ip}:${port}`;
  let version = '';
  await pollUntil(
    async () => {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        const info = await connection.workflowService.getSystemInfo({});
        // The namespace given with --namespace appears once the server has registered it.
        await connection.workflowService.describeNamespace({ namespace: settings.namespace });
        version = info.serverVersion ?? '';
      } finally {
        await connection.close();
      }
    },
    AbortSignal.timeout(60_000),
    300,
  );
  if (!version) throw new Error('the Temporal dev server did not answer within 60 s');
  log.info(
    { address, ui: `http://${ip}:${uiPort}`, version, dbFile: dbFile || '(memory)' },
    'Temporal is ready',
  );
  announceReady({ version });
}

main().catch((error: unknown) => {
  log.fatal((error as Error).message);
  server.kill('SIGKILL');
  process.exit(1);
});
