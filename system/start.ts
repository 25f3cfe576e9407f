// `npm start`: the whole platform on its embedded defaults, in the foreground, with a demo district.
import { readTemporalSettings } from '../core/temporal-settings.ts';
import { ConfigError, loadConfig, redactUrl } from '../core/config.ts';
import { createPool } from '../core/db/pool.ts';
import { seedDemoDistrict } from '../core/demo/seed.ts';
import { createProcessLogger } from '../core/log.ts';
import { varDir } from '../core/paths.ts';
import { ensureAdminBuilt } from '../admin/build.ts';
import { ensureDbtVenv } from '../warehouse/dbt/venv.ts';
import { createWarehouseClient } from '../core/warehouse-client.ts';
import { businessDate } from '../core/ledger/calendar.ts';
import { analyticsDatabase, reports } from '../api/routes/reports/catalog.ts';
import { createReportsRefresher } from '../warehouse/nightly-refresh.ts';
import { terminalSink } from './console-sink.ts';
import { assertFreeDisk } from './disk.ts';
import { LauncherLock } from './lock.ts';
import { startStack, type RunningStack, type StackPorts } from './stack.ts';

const fileLog = createProcessLogger('system', { stdout: false });
const terminal = terminalSink();
/** Every line reaches the terminal; the launcher's own, and whatever a child printed outside its logger
 * (a crash trace), also reach var/log/system.log. */
const sink = (name: string, line: string) => {
  terminal(name, line);
  if (name === 'system') fileLog.info(line);
  else if (!line.startsWith('{')) fileLog.warn({ from: name }, line);
};
const say = (message: string) => {
  terminal('system', JSON.stringify({ level: 30, time: Date.now(), msg: message }));
  fileLog.info(message);
};

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535)
    throw new ConfigError(`${name} must be a port number (1-65535), got "${raw}"`);
  return value;
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const config = loadConfig();
  const temporal = readTemporalSettings();
  const ports: StackPorts = {
    postgres: port('PG_PORT', 5433),
    temporal: port('TEMPORAL_PORT', temporal.devServer.port),
    temporalUi: port('TEMPORAL_UI_PORT', temporal.devServer.uiPort),
    warehouse: port('WAREHOUSE_PORT', 8123),
    api: config.API_PORT,
  };
  const dir = varDir();
  const lock = LauncherLock.acquire(dir, say);
  let stack: RunningStack | undefined;
  let stopping = false;
  const shutdown = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    say(`stopping every process (${reason})`);
    await stack?.stop();
    lock.release();
    say('stopped');
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(signal, () => void shutdown(signal, 0));

  try {
    say(`data folder: ${dir}`);
    assertFreeDisk(dir);
    say('checking tools: the console build and the dbt virtualenv (installed once, then reused)');
    await Promise.all([ensureAdminBuilt({ onProgress: say }), ensureDbtVenv({ onProgress: say })]);
    say('starting PostgreSQL, the warehouse and Temporal');
    stack = await startStack({
      varDir: dir,
      host: config.API_HOST,
      ports,
      external: {
        databaseUrl: config.DATABASE_URL,
        temporalAddress: config.TEMPORAL_ADDRESS,
        temporalUiUrl: config.TEMPORAL_UI_URL,
        clickhouseUrl: config.CLICKHOUSE_URL,
      },
      processes: { worker: true, api: true },
      sink,
      onSpawn: (pid) => lock.recordGroup(pid),
      progress: say,
    });
    for (const child of stack.children) {
      void child.exited.then((code) => {
        if (!stopping)
          void shutdown(
            `${child.name} exited unexpectedly with code ${code}; see var/log/${child.name}.log`,
            1,
          );
      });
    }

    const db = createPool(stack.env.DATABASE_URL, { max: 2, application: 'onecard-launcher' });
    const demo = await seedDemoDistrict(db).finally(() => db.end());
    say(
      `demo district: ${demo.cardholders} cardholders with ${demo.cards} cards (100 yuan each), ${demo.terminals} terminals`,
    );

    const api = `http://${stack.env.API_HOST}:${stack.env.API_PORT}`;
    const checkId = `startup-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const selfCheck = await fetch(`${api}/api/self-checks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ checkId }),
      signal: AbortSignal.timeout(60_000),
    });
    if (!selfCheck.ok)
      throw new Error(`the start-up self-check failed: HTTP ${selfCheck.status} ${await selfCheck.text()}`);
    say(
      `self-check workflow ${checkId} completed through PostgreSQL, Temporal, the worker and the warehouse`,
    );

    const readyS = (performance.now() - startedAt) / 1000;
    printBanner(stack, api, readyS);
    process.send?.({
      type: 'ready',
      readyS,
      api,
      pids: Object.fromEntries(stack.children.map((child) => [child.name, child.pid])),
    });
    void buildReportsOnce(stack, () => stopping);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    say(`start-up failed: ${message}`);
    await shutdown('start-up failed', 1);
  }
}

/**
 * The report marts are built by the nightly settlement run; on a data folder that lacks any of them (a
 * first start), the launcher builds them in the background after the banner, so the console's 报表 page
 * answers with the demo district's day instead of "not built yet".
 */
async function buildReportsOnce(stack: RunningStack, stopping: () => boolean): Promise<void> {
  const warehouse = createWarehouseClient(stack.env.CLICKHOUSE_URL, { application: 'onecard-launcher' });
  const db = createPool(stack.env.DATABASE_URL, { max: 2, application: 'onecard-launcher' });
  try {
    // The tables the report API reads: a first build stopped half-way (Ctrl-C) leaves some of them out.
    const needed = [
      ...new Set(Object.values(reports).flatMap((r) => [...r.sql.matchAll(/\.(\w+)/g)].map((m) => m[1]!))),
    ];
    const probe = await warehouse.query({
      query: `select name from system.tables where database = {db:String} and name in {names:Array(String)}`,
      query_params: { db: analyticsDatabase, names: needed },
      format: 'JSONEachRow',
    });
    if ((await probe.json<{ name: string }>()).length === needed.length) return;
    say('reports: building the report marts in the background (dbt build, about a minute)');
    const r = await createReportsRefresher({
      db,
      warehouse,
      clickhouseUrl: stack.env.CLICKHOUSE_URL,
    }).refresh(businessDate(new Date()));
    if (r.success)
      say(`reports: ${r.models} models and ${r.tests} tests built in ${r.elapsedS.toFixed(1)} s`);
    else
      say(
        `reports: dbt build failed (${[...r.failedModels.map((m) => `${m.model}: ${m.message}`), ...r.errors].join('; ')}); the nightly run tries again`,
      );
  } catch (error) {
    if (!stopping())
      say(`reports: the first build failed: ${(error as Error).message}; the nightly run tries again`);
  } finally {
    await Promise.allSettled([db.end(), warehouse.close()]);
  }
}

function printBanner(stack: RunningStack, api: string, readyS: number): void {
  const { env } = stack;
  const warehouse = new URL(env.CLICKHOUSE_URL);
  const lines = [
    '',
    `中小学一卡通集中平台 is up (ready in ${readyS.toFixed(1)} s). Ctrl-C stops everything.`,
    '',
    `  Admin console        ${api}/admin/`,
    `  API                  ${api}   (health: ${api}/health, OpenAPI: ${api}/openapi.json)`,
    `  Temporal Web UI      ${env.TEMPORAL_UI_URL || '(external Temporal: see its own UI)'}`,
    `  Temporal (gRPC)      ${env.TEMPORAL_ADDRESS}  namespace ${env.TEMPORAL_NAMESPACE}`,
    `  ClickHouse HTTP      ${warehouse.origin}   (try: curl '${warehouse.origin}/?query=SELECT+version()')`,
    `  PostgreSQL           ${redactUrl(env.DATABASE_URL)}`,
    `  Bank gateway         ${env.BANK_GATEWAY_URL ?? '(BANK_GATEWAY_URL)'}${env.BANK_API_KEY ? '   (local bank simulator)' : ''}`,
    `  SMS                  ${process.env.TWILIO_ACCOUNT_SID ? 'Twilio' : `outbox mode: ${api}/api/sms/outbox (reply: POST ${api}/api/sms/outbox/replies)`}`,
    `  Passwords            ${varDir()}/secrets.json (analysts use user "analyst")`,
    `  Logs                 ${varDir()}/log/<process>.log`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((error: unknown) => {
  say(`start-up failed: ${(error as Error).message}`);
  process.exit(1);
});
