// `npm run bench -- swipe [--seconds 20] [--terminals 64] [--cardholders 100000] [--pgbench-clients 16]`
//
// The whole online swipe path against PostgreSQL's own account-update benchmark, on the same server:
//  1. an embedded PostgreSQL (system/postgres-main.ts) on a free port under var/bench/swipe (wiped);
//  2. pgbench's built-in tpcb-like script on it (its own database, scale 10), for the same duration;
//  3. the API process (api/main.ts) with 100k cardholders, and simulated POS terminals sending online
//     purchases over HTTP, each on a keep-alive connection of its own (bench/parts/keep-alive-post.ts),
//     one request at a time, cards drawn at random;
//  4. the same terminals for 10 s against the route floor (bench/parts/route-floor.ts): the purchase route
//     alone, no ledger behind it, at about the same rate. Its CPU per request is the HTTP part of a
//     purchase, which pgbench (a C client speaking PostgreSQL's protocol) has no counterpart for.
// pgbench is Debian's (/usr/lib/postgresql/<v>/bin/pgbench, package postgresql-<v>; `apt-get install
// postgresql-15` ships it: stop and disable the system cluster it may start). The last line is
// {"purchasesPerS":…,"pgbenchTps":…,"ratio":…,"p50Ms":…,"p99Ms":…,"apiRssMb":…}.
// The API runs with the flags it has under `npm start` (apiNodeFlags). API_NODE_OPTIONS is handed to it as
// its NODE_OPTIONS, for experiments with V8's heap (`--max-old-space-size=192`; a flag the API sets itself
// on its command line wins) or a preloaded profiler (`--import ./profiler.mjs`).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { migrate } from '../core/db/migrate.ts';
import { checkLedger } from '../core/ledger/check.ts';
import { createPool } from '../core/db/pool.ts';
import { repoRoot } from '../core/paths.ts';
import { apiNodeFlags } from '../system/node-flags.ts';
import { startPostgres } from '../system/stack.ts';
import { startChild, pollUntil, type ManagedChild } from '../system/child.ts';
import { freePort } from '../system/ports.ts';
import { KeepAlivePost } from './parts/keep-alive-post.ts';
import { cpuSecondsOfTree, machineBusySeconds, rssMb } from './parts/proc.ts';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}
const seconds = option('seconds', 20);
const terminalCount = option('terminals', 64);
const cardholderCount = option('cardholders', 100_000);
const pgbenchClients = option('pgbench-clients', 16);
const schoolId = 'BENCH-01';

function findPgbench(): string {
  const candidates = ['/usr/lib/postgresql'].flatMap((root) =>
    fs.existsSync(root)
      ? fs
          .readdirSync(root)
          .sort()
          .reverse()
          .map((v) => path.join(root, v, 'bin', 'pgbench'))
      : [],
  );
  const found = candidates.find((file) => fs.existsSync(file));
  if (!found) {
    console.error(
      'pgbench not found: apt-get install -y postgresql-15 (then: service postgresql stop) and run again',
    );
    process.exit(2);
  }
  return found;
}

async function seed(pool: pg.Pool): Promise<void> {
  await pool.query(
    `insert into schools (school_id, name, district, kind) values ($1, '压测学校', '压测区', 'middle')`,
    [schoolId],
  );
  const { ensureSchoolUnit, ensureMerchantAccount } = await import('../core/ledger/registry.ts');
  await ensureSchoolUnit(pool, schoolId);
  await pool.query(
    `insert into merchants (merchant_id, school_id, name, kind) values ('BENCH-CT', $1, '食堂', 'canteen')`,
    [schoolId],
  );
  await ensureMerchantAccount(pool, 'BENCH-CT');
  await pool.query(
    `insert into terminals (terminal_id, school_id, merchant_id, kind) select 'BENCH-POS-' || g, $1, 'BENCH-CT', 'pos' from generate_series(1, $2) g`,
    [schoolId, terminalCount],
  );
  // Set-based: 100k cardholders, their cards and wallets, and one balanced opening transaction that
  // puts 10,000 yuan in every main wallet from the school's cash.
  await pool.query(
    `insert into cardholders (school_id, kind, person_no, name, gender) select $1, 'student', 'S' || g, '学生' || g, 'U' from generate_series(1, $2) g`,
    [schoolId, cardholderCount],
  );
  await pool.query(
    `insert into cards (card_no, cardholder_id, category_id, expires_on)
     select lpad(upper(to_hex(cardholder_id)), 12, '0'), cardholder_id, 2, '2099-12-31' from cardholders where school_id = $1`,
    [schoolId],
  );
  await pool.query(
    `insert into accounts (subject_code, unit_id, normal_sign, cardholder_id, wallet_kind, floor_fen)
     select w.subject_code, $1, -1, h.cardholder_id, w.kind, 0 from cardholders h,
            (values ('main', '200101'), ('subsidy', '200102'), ('deposit', '2002')) as w(kind, subject_code)
      where h.school_id = $1`,
    [schoolId],
  );
  const perWalletFen = 1_000_000n;
  await pool.query(
    `with tx as (
       insert into ledger_transactions (request_key, kind, amount_fen, business_date)
       values ('bench-opening', 'opening', $2::bigint * $3, current_date) returning transaction_id
     ), wallets as (
       select a.account_id from accounts a join cardholders h using (cardholder_id) where h.school_id = $1 and a.wallet_kind = 'main'
     ), cash as (
       select account_id from accounts where unit_id = $1 and subject_code = '1001' and cardholder_id is null
     )
     insert into ledger_postings (transaction_id, account_id, amount_fen, balance_fen_after)
     select tx.transaction_id, w.account_id, -$2::bigint, $2::bigint from tx, wallets w
     union all
     select tx.transaction_id, c.account_id, $2::bigint * $3, $2::bigint * $3 from tx, cash c`,
    [schoolId, perWalletFen.toString(), cardholderCount],
  );
  await pool.query(
    `update accounts a set balance_fen = p.amount_fen * a.normal_sign from ledger_postings p
      where p.account_id = a.account_id and p.transaction_id = (select transaction_id from ledger_transactions where request_key = 'bench-opening')`,
  );
  await pool.query('vacuum analyze');
  // SWIPE_EXPLAIN=1 logs the plan of every statement over 50 ms into var/bench/swipe/output.log.
  if (process.env.SWIPE_EXPLAIN) {
    for (const setting of [
      "session_preload_libraries = 'auto_explain'",
      'auto_explain.log_min_duration = 50',
      'auto_explain.log_analyze = on',
      'auto_explain.log_nested_statements = on',
    ]) {
      await pool.query(`alter system set ${setting}`);
    }
    await pool.query('select pg_reload_conf()');
  }
}

function pgbenchEnv(port: number, password: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PGPASSWORD: password,
    PGHOST: '127.0.0.1',
    PGPORT: String(port),
    PGUSER: 'postgres',
  };
}

/** pgbench's transactions per second, and the whole machine's busy share (of 2.0) and CPU ms per transaction. */
function runPgbench(
  pgbench: string,
  port: number,
  password: string,
  pgPid: number,
): { tps: number; machineShare: number; machineMsPerTransaction: number } {
  const env = pgbenchEnv(port, password);
  const before = { postgres: cpuSecondsOfTree(pgPid), machine: machineBusySeconds(), at: performance.now() };
  const out = execFileSync(
    pgbench,
    [
      '-b',
      'tpcb-like',
      '-M',
      'prepared',
      '-c',
      String(pgbenchClients),
      '-j',
      '2',
      '-T',
      String(seconds),
      '-n',
      'pgbench',
    ],
    { env, encoding: 'utf8' },
  );
  const wallS = (performance.now() - before.at) / 1000;
  const postgresS = cpuSecondsOfTree(pgPid) - before.postgres;
  const machineS = machineBusySeconds() - before.machine;
  const match = /tps = ([\d.]+)/.exec(out);
  if (!match) throw new Error(`no tps in pgbench output:\n${out}`);
  const transactions = Number(/transactions actually processed: (\d+)/.exec(out)?.[1] ?? 0);
  const perTransactionMs = (s: number) => (s * 1000) / Math.max(1, transactions);
  console.log(
    `  pgbench CPU (of one core): PostgreSQL ${((postgresS / wallS) * 100).toFixed(0)} % (${perTransactionMs(postgresS).toFixed(2)} ms per transaction), whole machine ${((machineS / wallS) * 100).toFixed(0)} % of 200 % (${perTransactionMs(machineS).toFixed(2)} ms per transaction)`,
  );
  process.stdout.write(
    out
      .split('\n')
      .filter((l) => /tps|latency|transactions/.test(l))
      .map((l) => `  pgbench: ${l}\n`)
      .join(''),
  );
  return {
    tps: Number(match[1]),
    machineShare: machineS / wallS,
    machineMsPerTransaction: perTransactionMs(machineS),
  };
}

async function drive(
  apiPort: number,
  cards: string[],
  measuredS: number,
  window: { start(): void; end(): void },
): Promise<{ ok: number; refused: number; latenciesMs: number[]; wallS: number }> {
  const latenciesMs: number[] = [];
  let ok = 0;
  let refused = 0;
  let measuring = false;
  const warmupMs = 3_000;
  const links = await Promise.all(
    Array.from({ length: terminalCount }, () => KeepAlivePost.connect('127.0.0.1', apiPort)),
  );
  const send = (terminal: number, seq: number) =>
    links[terminal - 1]!.post(
      '/api/ledger/purchases',
      JSON.stringify({
        terminalId: `BENCH-POS-${terminal}`,
        terminalSeq: seq,
        cardNo: cards[Math.floor(Math.random() * cards.length)],
        deduction: { mode: 'amount', amountFen: 100 + Math.floor(Math.random() * 1400) },
      }),
    );
  let stop = false;
  const terminals = Array.from({ length: terminalCount }, async (_, t) => {
    for (let seq = 1; !stop; seq++) {
      const started = performance.now();
      const status = await send(t + 1, seq);
      if (!measuring) continue;
      latenciesMs.push(performance.now() - started);
      if (status === 200) ok++;
      else refused++;
    }
  });
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  measuring = true;
  window.start();
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, measuredS * 1000));
  measuring = false;
  window.end();
  const wallS = (performance.now() - started) / 1000;
  stop = true;
  await Promise.all(terminals);
  for (const link of links) link.close();
  return { ok, refused, latenciesMs, wallS };
}

/**
 * CPU seconds of each given process tree, of this process (the load generator) and of the whole machine,
 * over drive()'s measured window.
 */
function cpuWindow<K extends string>(pids: Record<K, number>) {
  type Sample = Record<K | 'driver' | 'machine', number>;
  const sample = (): Sample => {
    const usage = process.cpuUsage();
    const trees = Object.entries<number>(pids).map(([name, pid]) => [name, cpuSecondsOfTree(pid)]);
    return {
      ...Object.fromEntries(trees),
      driver: (usage.user + usage.system) / 1e6,
      machine: machineBusySeconds(),
    } as Sample;
  };
  let first = sample();
  const cpu = {} as Sample;
  const window = {
    start: () => void (first = sample()),
    end: () => {
      const last = sample();
      for (const key of Object.keys(last) as Array<keyof Sample>) cpu[key] = last[key] - first[key];
    },
  };
  return { cpu, window };
}

/**
 * Updates of the rows a purchase changes (its wallet, the payable lane, the card's daily spend), and how
 * many were HOT: an update that stays on its page writes no index entry.
 */
async function updateCounts(pool: pg.Pool): Promise<Record<string, { updates: number; hot: number }>> {
  // The API's backends report their counts when idle, at most a second late.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const { rows } = await pool.query<{ relname: string; updates: number; hot: number }>(
    `select relname, n_tup_upd::int as updates, n_tup_hot_upd::int as hot
       from pg_stat_user_tables where relname in ('accounts', 'cards') order by relname`,
  );
  return Object.fromEntries(rows.map((r) => [r.relname, { updates: r.updates, hot: r.hot }]));
}

/**
 * The same terminals against the route floor (bench/parts/route-floor.ts): the purchase route with no ledger
 * behind it, answering after the real run's mean latency, so at about its rate. What that costs the API and
 * the load generator per request is the part of a purchase that has no counterpart in pgbench.
 */
async function measureRouteFloor(cards: string[], real: { latenciesMs: number[] }): Promise<void> {
  const meanMs = real.latenciesMs.reduce((sum, ms) => sum + ms, 0) / Math.max(1, real.latenciesMs.length);
  const port = await freePort();
  const floor = await startChild(
    {
      name: 'route-floor',
      entry: 'bench/parts/route-floor.ts',
      nodeFlags: apiNodeFlags,
      env: {
        ONECARD_VAR_DIR: varDir,
        LOG_LEVEL: 'warn',
        FLOOR_PORT: String(port),
        // Less the time a request spends on the wire and in the two event loops (about a millisecond).
        FLOOR_DELAY_MS: String(Math.max(0, Math.round(meanMs) - 1)),
      },
      ready: (_child, signal) =>
        pollUntil(async () => void (await fetch(`http://127.0.0.1:${port}/`)).arrayBuffer(), signal),
      readyTimeoutMs: 60_000,
    },
    sink,
  );
  children.push(floor);
  const floorSeconds = 10;
  const { cpu, window } = cpuWindow({ api: floor.pid });
  const run = await drive(port, cards, floorSeconds, window);
  const perRequestMs = (s: number) => ((s * 1000) / Math.max(1, run.ok)).toFixed(3);
  console.log(
    `route floor (the purchase route, no ledger), ${floorSeconds} s: ${Math.round(run.ok / run.wallS)} requests/s, ${run.refused} refused; ms per request: API ${perRequestMs(cpu.api)}, load generator ${perRequestMs(cpu.driver)}, whole machine ${perRequestMs(cpu.machine)}`,
  );
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

const varDir = path.join(repoRoot, 'var', 'bench', 'swipe');
fs.rmSync(varDir, { recursive: true, force: true });
fs.mkdirSync(varDir, { recursive: true, mode: 0o755 });
const log = fs.createWriteStream(path.join(varDir, 'output.log'));
const profileLines: string[] = [];
const sink = (name: string, line: string) => {
  if (line.includes('ledgerProfile')) profileLines.push(line);
  log.write(`${name} ${line}\n`);
};
const password = randomBytes(12).toString('hex');
const pgPort = await freePort();
const apiPort = await freePort();
const children: ManagedChild[] = [];
try {
  const pgbench = findPgbench();
  console.log(
    `PostgreSQL on :${pgPort}, pgbench ${pgbench}, ${cardholderCount} cardholders, ${terminalCount} terminals, ${seconds} s each`,
  );
  const postgres = await startPostgres({ varDir, port: pgPort, password, sink: sink });
  children.push(postgres);
  const { databaseUrl } = postgres;
  await migrate(databaseUrl, { info: (m: string) => sink('migrate', m) });
  const admin = new pg.Client({ connectionString: databaseUrl.replace(/\/onecard$/, '/postgres') });
  await admin.connect();
  await admin.query('create database pgbench');
  await admin.end();
  const pool = createPool(databaseUrl, { max: 4 });
  const seedStarted = performance.now();
  await seed(pool);
  console.log(`seeded in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);
  const { rows } = await pool.query<{ card_no: string }>(`select card_no from cards order by card_no`);
  const cards = rows.map((r) => r.card_no);

  console.log(`pgbench tpcb-like, ${pgbenchClients} clients, ${seconds} s`);
  // Each measured run starts right after a checkpoint, so that neither meets one part-way (the full-page
  // images written after a checkpoint swung PostgreSQL's CPU per purchase by a third between runs).
  execFileSync(pgbench, ['-i', '-q', '-s', '10', 'pgbench'], {
    env: pgbenchEnv(pgPort, password),
    stdio: 'ignore',
  });
  await pool.query('checkpoint');
  const pgbenchRun = runPgbench(pgbench, pgPort, password, postgres.pid);

  children.push(
    await startChild(
      {
        name: 'api',
        entry: 'api/main.ts',
        nodeFlags: apiNodeFlags,
        env: {
          ONECARD_VAR_DIR: varDir,
          DATABASE_URL: databaseUrl,
          API_HOST: '127.0.0.1',
          API_PORT: String(apiPort),
          LOG_LEVEL: 'warn',
          LEDGER_PROFILE: '1',
          NODE_OPTIONS: process.env.API_NODE_OPTIONS ?? '',
          // The purchase path needs neither; both clients connect lazily, so unreachable addresses are fine.
          TEMPORAL_ADDRESS: '127.0.0.1:1',
          CLICKHOUSE_URL: 'http://127.0.0.1:1',
        },
        ready: (_child, signal) =>
          pollUntil(
            async () => void (await fetch(`http://127.0.0.1:${apiPort}/openapi.json`)).arrayBuffer(),
            signal,
          ),
        readyTimeoutMs: 60_000,
      },
      sink,
    ),
  );
  const apiPid = children[children.length - 1]!.pid;
  await pool.query('checkpoint');
  console.log(`purchases: ${terminalCount} terminals, ${seconds} s after a 3 s warm-up`);
  const pgPid = children[0]!.pid;
  const hotBefore = await updateCounts(pool);
  const { cpu, window } = cpuWindow({ api: apiPid, postgres: pgPid });
  const run = await drive(apiPort, cards, seconds, window);
  const share = (s: number) => `${((s / run.wallS) * 100).toFixed(0)} %`;
  const perPurchaseMs = (s: number) => (s * 1000) / Math.max(1, run.ok);
  console.log(
    `  CPU (of one core) during the measured window: API ${share(cpu.api)}, PostgreSQL ${share(cpu.postgres)}, load generator ${share(cpu.driver)}, whole machine ${share(cpu.machine)} of 200 % (the rest is other programs); ms per purchase: API ${perPurchaseMs(cpu.api).toFixed(2)}, PostgreSQL ${perPurchaseMs(cpu.postgres).toFixed(2)}, whole machine ${perPurchaseMs(cpu.machine).toFixed(2)}`,
  );
  // purchases/s ÷ tps = (machine CPU per transaction ÷ per purchase) × (machine busy share, ours ÷ pgbench's):
  // what each costs, and how much of the machine each run keeps busy.
  const costFactor = pgbenchRun.machineMsPerTransaction / perPurchaseMs(cpu.machine);
  const useFactor = cpu.machine / run.wallS / pgbenchRun.machineShare;
  console.log(
    `  ratio ≈ ${costFactor.toFixed(2)} (pgbench's machine CPU per transaction ÷ ours per purchase) × ${useFactor.toFixed(2)} (machine busy, ours ÷ pgbench's)`,
  );
  if (profileLines.length > 0)
    console.log(`  batch profile (API, last 5 s): ${profileLines[profileLines.length - 1]}`);
  const sorted = [...run.latenciesMs].sort((a, b) => a - b);
  const purchasesPerS = run.ok / run.wallS;
  const apiRssMb = rssMb(apiPid, 'VmHWM');
  const check = await checkLedger(pool);
  console.log(
    `  purchases: ${run.ok} ok, ${run.refused} refused; ledger check: ${check.accountsChecked} accounts, ${check.differences.length} differences, ${check.unbalancedTransactions.length} unbalanced`,
  );
  const { rows: lanes } = await pool.query<{ lane: number; postings: string }>(
    `select a.lane, count(*)::text as postings from ledger_postings p join accounts a using (account_id)
      where a.merchant_id = 'BENCH-CT' group by a.lane order by a.lane`,
  );
  console.log(
    `  canteen payable postings by lane: ${lanes.map((l) => `${l.lane}: ${l.postings}`).join(', ')}`,
  );
  const hotAfter = await updateCounts(pool);
  console.log(
    `  HOT updates during the purchases: ${Object.entries(hotAfter)
      .map(([table, after]) => {
        const updates = after.updates - (hotBefore[table]?.updates ?? 0);
        const hot = after.hot - (hotBefore[table]?.hot ?? 0);
        return `${table} ${Math.round((100 * hot) / Math.max(1, updates))} % of ${updates}`;
      })
      .join(', ')}`,
  );
  await pool.end();
  await measureRouteFloor(cards, run);
  console.log(
    JSON.stringify({
      purchasesPerS: Math.round(purchasesPerS),
      pgbenchTps: Math.round(pgbenchRun.tps),
      ratio: Number((purchasesPerS / pgbenchRun.tps).toFixed(2)),
      p50Ms: Number(percentile(sorted, 0.5).toFixed(1)),
      p99Ms: Number(percentile(sorted, 0.99).toFixed(1)),
      apiRssMb,
    }),
  );
} finally {
  for (const child of children.reverse()) await child.stop();
  log.end();
}
