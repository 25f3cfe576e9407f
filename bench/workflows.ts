// `npm run bench -- workflows [--top-ups 1000] [--concurrency 50] [--replacements 1000] [--loss-reports 200]
//   [--collection-check-s 60]`
//
// Bank top-ups approved by SMS, end to end on one machine: the embedded stack (PostgreSQL, Temporal dev
// server in memory, warehouse) on free ports under var/bench/workflows (wiped), the API and a worker
// in-process, the bank simulator as its own process, SMS in outbox mode (the default). The clock runs from
// the first start request until every top-up has completed: each is started through the API, its code is
// read from the outbox, and the parent's `Y <code>` goes through the signed inbound webhook. The goal is
// 1,000 top-ups started and approved within 60 s. Then, on the same stack and worker, 挂失 reports are timed
// until their card is on the blacklist while 1,000 card replacements wait (bench/parts/freeze-under-load.ts);
// the goal is a p99 under 2 s. The last line is {"freezeToBlacklistP99Ms":…,"topUpsPerS":…}.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { tsToMs } from '@temporalio/common';
import { buildApp } from '../api/app.ts';
import { createHttpBankGateway } from '../core/bank/http-gateway.ts';
import { createPool } from '../core/db/pool.ts';
import { checkLedger } from '../core/ledger/check.ts';
import { ensureSchoolUnit, issueCard } from '../core/ledger/registry.ts';
import { repoRoot } from '../core/paths.ts';
import { createOutboxSender } from '../core/sms/sender.ts';
import { createWarehouseClient } from '../core/warehouse-client.ts';
import { freePort } from '../system/ports.ts';
import { startStackOnFreePorts } from '../system/stack.ts';
import { workerPoolMax, workerTuning } from '../worker/tuning.ts';
import { createWorker } from '../worker/worker.ts';
import { inBatches, post } from './parts/driver.ts';
import { measureFreezeUnderLoad } from './parts/freeze-under-load.ts';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index > 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) {
    console.error(`--${name} must be a positive whole number`);
    process.exit(2);
  }
  return value;
}
const topUpCount = option('top-ups', 1_000);
const concurrency = option('concurrency', 50);
const replacementCount = option('replacements', 1_000);
const lossReportCount = option('loss-reports', 200);
const collectionCheckS = option('collection-check-s', 60);
/** How many top-ups' histories are read afterwards to show where a top-up's time goes. */
const profiledMax = option('profile', 50);
const say = (line: string) => console.log(`[bench workflows] ${line}`);

const varDir = path.join(repoRoot, 'var', 'bench', 'workflows');
fs.rmSync(varDir, { recursive: true, force: true });
fs.mkdirSync(varDir, { recursive: true, mode: 0o755 });
process.env.ONECARD_VAR_DIR = varDir;
process.env.ONECARD_LOG_STDOUT = '0';
const log = fs.createWriteStream(path.join(varDir, 'output.log'));
const taskQueue = 'bench-workflows';

const stack = await startStackOnFreePorts({
  varDir,
  processes: { worker: false, api: false },
  temporalInMemory: true,
  sink: (name, line) => log.write(`${name} ${line}\n`),
  progress: say,
});

const apiKey = `bk_${randomBytes(16).toString('hex')}`;
const callbackSecret = randomBytes(24).toString('hex');
const apiPort = await freePort();
const publicBaseUrl = `http://127.0.0.1:${apiPort}`;
const bankProcess = spawn(process.execPath, ['--import', 'tsx', 'drivers/bank-simulator/main.ts'], {
  cwd: repoRoot,
  env: {
    ...process.env,
    BANK_API_KEY: apiKey,
    BANK_CALLBACK_SECRET: callbackSecret,
    BANK_SIM_CALLBACK_URL: `${publicBaseUrl}/api/bank/callbacks`,
    BANK_SIM_PORT: '0',
  },
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
const bankUrl = await new Promise<string>((resolve, reject) => {
  bankProcess.on('message', (m: { type?: string; url?: string }) => m.type === 'ready' && resolve(m.url!));
  bankProcess.once('exit', (code) => reject(new Error(`the bank simulator exited with ${code}`)));
});

const config = {
  ...stack.env,
  API_PORT: apiPort,
  LOG_LEVEL: 'warn',
  TEMPORAL_TASK_QUEUE: taskQueue,
  PUBLIC_BASE_URL: publicBaseUrl,
  BANK_GATEWAY_URL: bankUrl,
  BANK_API_KEY: apiKey,
  BANK_CALLBACK_SECRET: callbackSecret,
};
const app = await buildApp(config, pino({ level: 'warn' }));
await app.listen({ host: '127.0.0.1', port: apiPort });
const db = createPool(stack.env.DATABASE_URL, { max: 10 });
const workerDb = createPool(stack.env.DATABASE_URL, { max: workerPoolMax(workerTuning()) });
const warehouse = createWarehouseClient(stack.env.CLICKHOUSE_URL);
const { worker, connection } = await createWorker({
  address: stack.env.TEMPORAL_ADDRESS,
  taskQueue,
  deps: {
    db: workerDb,
    warehouse,
    sms: createOutboxSender(workerDb),
    bank: createHttpBankGateway({
      baseUrl: bankUrl,
      apiKey,
      callbackUrl: `${publicBaseUrl}/api/bank/callbacks`,
    }),
  },
  log: pino({ level: 'warn' }),
});
const running = worker.run();

// One school, one card per top-up, each bound to its own parent phone and bank card.
say(`preparing ${topUpCount} cards, parents and bank cards`);
const schoolId = `BENCH-${randomBytes(3).toString('hex').toUpperCase()}`;
await db.query(
  `insert into schools (school_id, name, district, kind) values ($1, '压测学校', '压测区', 'middle')`,
  [schoolId],
);
await ensureSchoolUnit(db, schoolId);
const { rows: holders } = await db.query<{ cardholder_id: bigint }>(
  `insert into cardholders (school_id, kind, person_no, name, gender)
   select $1, 'student', 'B' || g, '学生' || g, 'U' from generate_series(1, $2) g returning cardholder_id`,
  [schoolId, topUpCount],
);
const cards = holders.map((holder, i) => ({
  cardholderId: holder.cardholder_id,
  cardNo: `B${String(i).padStart(11, '0')}`,
  phone: `+86137${String(i).padStart(8, '0')}`,
  token: `tok_bench_${String(i).padStart(8, '0')}`,
}));
await inBatches(cards, concurrency, async (card) => {
  await issueCard(db, {
    cardNo: card.cardNo,
    cardholderId: card.cardholderId,
    categoryId: 1,
    expiresOn: '2099-12-31',
  });
  await db.query(
    `insert into parent_bindings (card_no, guardian_phone, bank_card_token, top_up_amount_fen) values ($1, $2, $3, 5000)`,
    [card.cardNo, card.phone, card.token],
  );
  await post(`${bankUrl}/sim/cards`, { cardToken: card.token, balanceFen: 1_000_000 }, `Bearer ${apiKey}`);
});

say(`starting and approving ${topUpCount} top-ups, ${concurrency} requests in flight each way`);
const started = performance.now();
const driverMs = { start: [] as number[], codeSeen: [] as number[], reply: [] as number[] };
// Parents act independently: a top-up's start does not wait for another parent's reply. The starts go
// out with `concurrency` requests in flight; the phone network (one reader of the outbox, as a carrier
// delivers every handset's texts) hands each request SMS to its parent, and the parents' `Y <code>`
// replies go through the signed webhook, again `concurrency` at a time.
const startedAt = new Map<string, number>();
const replies: Array<{ phone: string; code: string; seenAt: number }> = [];
await Promise.all([
  inBatches(cards, concurrency, async (card) => {
    const t0 = performance.now();
    const start = await post(`${publicBaseUrl}/api/bank-top-ups`, {
      cardNo: card.cardNo,
      requestId: 'bench',
      trigger: 'parent_request',
    });
    if (start.status !== 202) throw new Error(`start ${card.cardNo}: ${start.status}`);
    startedAt.set(card.phone, performance.now());
    driverMs.start.push(performance.now() - t0);
  }),
  deliverRequestSms((phone, code) => {
    const seenAt = performance.now();
    driverMs.codeSeen.push(seenAt - (startedAt.get(phone) ?? seenAt));
    replies.push({ phone, code, seenAt });
  }),
  inBatches(
    Array.from({ length: topUpCount }, (_, i) => i),
    concurrency,
    async () => {
      let reply = replies.shift();
      while (!reply) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        reply = replies.shift();
      }
      const replied = await post(`${publicBaseUrl}/api/sms/outbox/replies`, {
        from: reply.phone,
        text: `Y ${reply.code}`,
      });
      if (replied.status !== 202) throw new Error(`reply ${reply.phone}: ${replied.status}`);
      driverMs.reply.push(performance.now() - reply.seenAt);
    },
  ),
]);
say(`all started and replied to after ${((performance.now() - started) / 1000).toFixed(1)} s`);
for (;;) {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from bank_top_ups where school_id = $1 and status = 'completed'`,
    [schoolId],
  );
  if (rows[0]!.n >= topUpCount) break;
  if (performance.now() - started > 600_000) throw new Error(`only ${rows[0]!.n} of ${topUpCount} completed`);
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const seconds = (performance.now() - started) / 1000;

const ledger = await checkLedger(db);
const { rows: moved } = await db.query<{ n: number }>(
  `select count(*)::int as n from ledger_transactions t join cards c using (card_no) join cardholders h using (cardholder_id)
    where h.school_id = $1 and t.kind = 'top_up'`,
  [schoolId],
);
const statement = (await (
  await fetch(`${bankUrl}/v1/debits`, { headers: { authorization: `Bearer ${apiKey}` } })
).json()) as { debits: unknown[] };
say(
  `${topUpCount} top-ups in ${seconds.toFixed(1)} s; ledger top-ups ${moved[0]!.n}, bank debits ${statement.debits.length}, ` +
    `ledger differences ${ledger.differences.length}, unbalanced ${ledger.unbalancedTransactions.length}`,
);

say(
  `driver ms (p50 / p90): start ${spread(driverMs.start)}, request SMS seen ${spread(driverMs.codeSeen)}, ` +
    `reply ${spread(driverMs.reply)}`,
);
for (const line of await profileTopUps(cards.slice(-profiledMax).map((card) => card.cardNo))) say(line);

const freeze = await measureFreezeUnderLoad({
  db,
  apiUrl: publicBaseUrl,
  replacements: replacementCount,
  reports: lossReportCount,
  collectionCheckS,
  concurrency,
  say,
});
say(
  `freeze to blacklist while ${freeze.replacements} replacements ran: p50 ${freeze.freezeToBlacklistP50Ms} ms, ` +
    `p99 ${freeze.freezeToBlacklistP99Ms} ms over ${freeze.reports} reports; the replacements then completed in ` +
    `${freeze.replacementsCompletedS} s`,
);
const ledgerAfter = await checkLedger(db);
say(
  `ledger after the replacements: differences ${ledgerAfter.differences.length}, unbalanced ${ledgerAfter.unbalancedTransactions.length}`,
);

worker.shutdown();
await running;
// The bank first: its late callbacks (retried on a loaded machine) must not reach an API that is closing.
const bankExited = new Promise((resolve) => bankProcess.once('exit', resolve));
bankProcess.kill('SIGTERM');
await bankExited;
await Promise.all([connection.close(), workerDb.end(), warehouse.close(), db.end(), app.close()]);
await stack.stop();
log.end();
console.log(
  JSON.stringify({
    freezeToBlacklistP99Ms: freeze.freezeToBlacklistP99Ms,
    topUpsPerS: Number((topUpCount / seconds).toFixed(1)),
  }),
);
process.exit(moved[0]!.n === topUpCount && statement.debits.length === topUpCount ? 0 : 1);

/**
 * The phone network in outbox mode: every 50 ms, one query for the request SMS of the parents whose top-up
 * has started and who have had no text yet, each code handed to its parent's phone, until all have.
 */
async function deliverRequestSms(deliver: (phone: string, code: string) => void): Promise<void> {
  const delivered = new Set<string>();
  while (delivered.size < topUpCount) {
    if (performance.now() - started > 600_000) throw new Error(`only ${delivered.size} request SMS arrived`);
    const waiting = [...startedAt.keys()].filter((phone) => !delivered.has(phone));
    const { rows } = await db.query<{ to_phone: string; body: string }>(
      `select to_phone, body from sms_messages
        where to_phone = any($1::text[]) and direction = 'outbound' and template = 'top_up_request'`,
      [waiting],
    );
    for (const row of rows) {
      const code = /Y (\d{6})/.exec(row.body)?.[1];
      if (!code) throw new Error(`a request SMS without a code: ${row.body}`);
      if (delivered.has(row.to_phone)) continue;
      delivered.add(row.to_phone);
      deliver(row.to_phone, code);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function spread(values: number[]): string {
  if (values.length === 0) return '-';
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return `${Math.round(at(0.5))} / ${Math.round(at(0.9))}`;
}

/**
 * Where a top-up's time goes, read from the histories of the last ones started (the busiest part of the
 * run): for workflow tasks and each activity, the wait in the task queue (scheduled → started) and the
 * run (started → completed); and the time the parent took (request sent → reply signal).
 */
async function profileTopUps(cardNos: string[]): Promise<string[]> {
  const steps = new Map<string, { queuedMs: number[]; runMs: number[] }>();
  const step = (name: string) => steps.get(name) ?? steps.set(name, { queuedMs: [], runMs: [] }).get(name)!;
  const parentMs: number[] = [];
  const totalMs: number[] = [];
  const counts = { workflowTasks: 0, activities: 0, localActivityMarkers: 0 };
  for (const cardNo of cardNos) {
    const history = await app.temporal.client.workflow
      .getHandle(`bank-top-up/${cardNo}/bench`)
      .fetchHistory();
    const events = history.events ?? [];
    const at = (i: number) => tsToMs(events[i]!.eventTime);
    const byId = new Map(events.map((event, i) => [Number(event.eventId), i]));
    let requestDoneMs: number | undefined;
    events.forEach((event, i) => {
      if (event.workflowTaskStartedEventAttributes) {
        const scheduled = byId.get(Number(event.workflowTaskStartedEventAttributes.scheduledEventId))!;
        step('workflow task').queuedMs.push(at(i) - at(scheduled));
        counts.workflowTasks++;
      }
      if (event.workflowTaskCompletedEventAttributes) {
        const started = byId.get(Number(event.workflowTaskCompletedEventAttributes.startedEventId))!;
        step('workflow task').runMs.push(at(i) - at(started));
      }
      if (event.markerRecordedEventAttributes?.markerName === 'core_local_activity')
        counts.localActivityMarkers++;
      const activityStarted = event.activityTaskStartedEventAttributes;
      const activityDone = event.activityTaskCompletedEventAttributes;
      if (activityStarted || activityDone) {
        const scheduled = byId.get(Number((activityStarted ?? activityDone)!.scheduledEventId))!;
        const name = events[scheduled]!.activityTaskScheduledEventAttributes!.activityType!.name!;
        if (activityStarted) step(name).queuedMs.push(at(i) - at(scheduled));
        if (activityDone) {
          const started = byId.get(Number(activityDone.startedEventId))!;
          step(name).runMs.push(at(i) - at(started));
          counts.activities++;
          if (name === 'requestTopUpApproval') requestDoneMs = at(i);
        }
      }
      if (event.workflowExecutionSignaledEventAttributes && requestDoneMs !== undefined)
        parentMs.push(at(i) - requestDoneMs);
    });
    totalMs.push(at(events.length - 1) - at(0));
  }
  const n = Math.max(1, cardNos.length);
  return [
    `profile of the last ${cardNos.length} top-ups (ms, p50 / p90): whole top-up ${spread(totalMs)}, ` +
      `request SMS recorded → reply signal ${spread(parentMs)}; per top-up ${counts.workflowTasks / n} workflow tasks, ` +
      `${counts.activities / n} activities, ${counts.localActivityMarkers / n} local activities`,
    ...[...steps].map(
      ([name, { queuedMs, runMs }]) => `  ${name}: queued ${spread(queuedMs)}, ran ${spread(runMs)}`,
    ),
  ];
}
