// `npm run bench -- warehouse [--events 200000] [--swipes 10000000] [--purchases 3000000] [--loops 1]`
//
// The data center's speed, on an embedded PostgreSQL and a warehouse process of its own (var/bench/warehouse,
// wiped first):
//  1. ingest: `events` swipes uploaded as the API stores them (1,000 per upload, 4 uploads at a time; swipes/s
//     printed), moved by the relay (`loops` loops, 1 as its process runs by default, each reading and sending
//     ahead; in this process, under the relay process's V8 flags: see bench/run.ts) into the warehouse over
//     HTTP; then the very rows the relay wrote, inserted straight into a chDB session in this process in the
//     relay's format (JSONCompactEachRow, same batch size): events/s against rows/s, each the median of three
//     runs from an empty table, and the CPU of each side;
//  2. `swipes` synthetic swipes and `purchases` purchases (with two postings each) generated inside the
//     warehouse (numbers()), 100 schools, 111,000 students, 30 days; then `dbt build` of every model and test;
//  3. the report API's own queries (server-side parameters, over HTTP) for a merchant's monthly report and a
//     school's daily attendance per class, median of 7, and the same two answered from the raw tables;
//  4. the warehouse process's resident memory.
// Last line: {"ingestEventsPerS":…,"directRowsPerS":…,"ratio":…,"merchantMonthlyMs":…,"attendanceDailyMs":…,
//             "dbtBuildS":…,"warehouseRssMb":…}
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Session } from 'chdb';
import { createPool } from '../core/db/pool.ts';
import { migrate } from '../core/db/migrate.ts';
import { repoRoot } from '../core/paths.ts';
import { createWarehouseClient } from '../core/warehouse-client.ts';
import { reports } from '../api/routes/reports/catalog.ts';
import { startPostgres } from '../system/stack.ts';
import { type ManagedChild } from '../system/child.ts';
import { freePort } from '../system/ports.ts';
import { startWarehouse } from '../test/warehouse/start-warehouse.ts';
import { buildMarts } from '../warehouse/dbt/build-marts.ts';
import { ReadAhead, relayOnce, relayLimits } from '../warehouse/relay/relay.ts';
import { recordSwipes } from '../api/routes/swipes/store.ts';
import { warehouseColumns } from '../warehouse/relay/rows.ts';
import { applyWarehouseSchema, schemaStatements } from '../warehouse/schema/apply.ts';
import { cpuSecondsOfTree, machineBusySeconds, rssMb } from './parts/proc.ts';

const { values: opts } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    swipes: { type: 'string', default: '10000000' },
    purchases: { type: 'string', default: '3000000' },
    loops: { type: 'string', default: '1' },
  },
});
const events = Number(opts.events);
const swipes = Number(opts.swipes);
const purchases = Number(opts.purchases);
const loops = Number(opts.loops);
const varDir = path.join(repoRoot, 'var', 'bench', 'warehouse');
fs.rmSync(varDir, { recursive: true, force: true });
fs.mkdirSync(varDir, { recursive: true, mode: 0o755 });
const log = fs.createWriteStream(path.join(varDir, 'output.log'));
const sink = (name: string, line: string) => log.write(`${name} ${line}\n`);
const children: ManagedChild[] = [];
const seconds = (startedMs: number) => (performance.now() - startedMs) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** The run of median duration. */
const medianRun = <T extends { s: number }>(runs: T[]) =>
  [...runs].sort((x, y) => x.s - y.s)[Math.floor(runs.length / 2)]!;

const pgPort = await freePort();
const password = 'bench';
const postgres = await startPostgres({ varDir, port: pgPort, password, sink: sink });
children.push(postgres);
const { databaseUrl } = postgres;
await migrate(databaseUrl, { info: (m: string) => sink('migrate', m) });
const wh = await startWarehouse({ dataDir: path.join(varDir, 'warehouse'), systemPassword: 'bench' });
const clickhouseUrl = new URL(wh.url).origin.replace('http://', 'http://onecard:bench@');
const warehouse = createWarehouseClient(clickhouseUrl, { application: 'bench' });
await applyWarehouseSchema(warehouse);
const db = createPool(databaseUrl, { max: 6 });

try {
  // 1. Swipe uploads as the API stores them (swipe + outbox event in one statement), then the relay.
  await db.query(
    `insert into schools (school_id, name, district, kind) values ('BS0', '基准学校', '基准区', 'middle')`,
  );
  await db.query(
    `insert into terminals (terminal_id, school_id, kind) select 'BENCH-G' || g, 'BS0', 'gate' from generate_series(0, 99) g`,
  );
  const uploadStarted = performance.now();
  const perUpload = 1_000;
  const uploads = Math.ceil(events / perUpload);
  let next = 0;
  const uploader = async () => {
    for (let u = next++; u < uploads; u = next++) {
      const records = Array.from({ length: Math.min(perUpload, events - u * perUpload) }, (_, i) => ({
        terminalSeq: u * perUpload + i,
        cardNo: ((u * perUpload + i) % 100_000).toString(16).toUpperCase().padStart(12, '0'),
        kind: i % 2 === 0 ? 'gate_in' : 'gate_out',
        at: new Date(Date.now() - i * 1000).toISOString(),
      }));
      const r = await recordSwipes(db, `BENCH-G${u % 100}`, records);
      if (r.outcome !== 'ok') throw new Error(`swipe upload refused: ${JSON.stringify(r)}`);
    }
  };
  await Promise.all([uploader(), uploader(), uploader(), uploader()]);
  const swipeUploadsPerS = Math.round(events / seconds(uploadStarted));
  console.log(
    `swipe uploads (${perUpload} records each, 4 at a time): ${swipeUploadsPerS} swipes/s into PostgreSQL and the outbox`,
  );
  await db.query('vacuum analyze outbox');
  const cpuNow = () => ({
    relay: ((usage) => (usage.user + usage.system) / 1e6)(process.cpuUsage()),
    warehouse: cpuSecondsOfTree(wh.child.pid!),
    postgres: cpuSecondsOfTree(postgres.pid),
    machine: machineBusySeconds(),
  });
  // Three relay runs from an empty warehouse table and no cursor, the median kept, as for the direct insert
  // below: either side swings with the merges still going on in its engine.
  const relayRuns: Array<{ s: number; cpuShare: Record<string, string>; phases: Record<string, number> }> =
    [];
  for (let run = 0; run < 3; run++) {
    await warehouse.command({ query: 'truncate table onecard.swipes' });
    await db.query(`delete from outbox_cursors where consumer like 'warehouse %'`);
    const cpuBefore = cpuNow();
    const ingestStarted = performance.now();
    const phases = { readMs: 0, deliverMs: 0, commitMs: 0 };
    const loop = async (index: number) => {
      const readAhead = new ReadAhead();
      for (;;) {
        const r = await relayOnce(db, warehouse, { partition: { index, count: loops }, readAhead });
        for (const k of ['readMs', 'deliverMs', 'commitMs'] as const) phases[k] += r.timings?.[k] ?? 0;
        if (r.passed === 0 && !r.waiting) return;
      }
    };
    await Promise.all(Array.from({ length: loops }, (_, i) => loop(i)));
    const ingestS = seconds(ingestStarted);
    const cpuAfter = cpuNow();
    const cpuShare = Object.fromEntries(
      Object.keys(cpuAfter).map((k) => {
        const key = k as keyof typeof cpuAfter;
        return [k, `${Math.round(((cpuAfter[key] - cpuBefore[key]) / ingestS) * 100)} %`];
      }),
    );
    relayRuns.push({ s: ingestS, cpuShare, phases });
  }
  const relayRun = medianRun(relayRuns);
  const relayed = Number(
    (
      await (
        await warehouse.query({ query: 'select count() as n from onecard.swipes', format: 'JSONEachRow' })
      ).json<{ n: string }>()
    )[0]!.n,
  );
  const ingestEventsPerS = Math.round(events / relayRun.s);
  console.log(
    `relay (${loops} loops): ${events} events in ${relayRuns.map((r) => r.s.toFixed(2)).join(' / ')} s, ` +
      `median ${ingestEventsPerS}/s; ${relayed} rows in the warehouse; time summed over loops: ${JSON.stringify(relayRun.phases)}`,
  );
  console.log(
    `  CPU (of one core) while relaying: ${JSON.stringify(relayRun.cpuShare)} (machine: of 200 %, other programs too)`,
  );

  // The same rows, straight into chDB in this process, in the relay's format and encoding (JSONCompactEachRow,
  // rows separated by commas, instants as epoch milliseconds).
  const rowsText = await (
    await warehouse.query({
      query: `select ${warehouseColumns.swipes
        .map((c) => (c === 'swiped_at' || c === 'received_at' ? `toUnixTimestamp64Milli(${c})` : c))
        .join(', ')} from onecard.swipes order by event_id`,
      format: 'JSONCompactEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    })
  ).text();
  const lines = rowsText.trimEnd().split('\n');
  const direct = new Session(path.join(varDir, 'direct-chdb'));
  direct.query('create database if not exists onecard');
  for (const { sql } of schemaStatements())
    if (/CREATE TABLE IF NOT EXISTS onecard\.swipes\b/.test(sql)) direct.query(sql);
  // Three runs into an emptied table, the median kept: a single run swings with the merges still going on.
  const directRuns: Array<{ s: number; cpuS: number }> = [];
  for (let run = 0; run < 3; run++) {
    direct.query('truncate table onecard.swipes');
    const cpuBefore = cpuNow().relay;
    const started = performance.now();
    for (let i = 0; i < lines.length; i += relayLimits.batchMax)
      await direct.insert({
        table: 'onecard.swipes',
        columns: warehouseColumns.swipes,
        values: lines.slice(i, i + relayLimits.batchMax).join(','),
        format: 'JSONCompactEachRow',
      });
    directRuns.push({ s: seconds(started), cpuS: cpuNow().relay - cpuBefore });
  }
  direct.close();
  const directRun = medianRun(directRuns);
  const directRowsPerS = Math.round(lines.length / directRun.s);
  console.log(
    `direct chdb insert: ${lines.length} rows in ${directRuns.map((r) => r.s.toFixed(2)).join(' / ')} s, ` +
      `median ${directRowsPerS}/s at ${Math.round((directRun.cpuS / directRun.s) * 100)} % of one core`,
  );

  // 2. Synthetic scale, generated inside the warehouse.
  const genStarted = performance.now();
  const students = 111_000;
  const perSchool = 1_110;
  const command = (query: string) =>
    warehouse.command({ query, clickhouse_settings: { max_partitions_per_insert_block: '1000' } });
  await command(`
    insert into onecard.dimension_changes
    select 2000000000000 + number, 'cardholders', toString(1000000 + number), now64(3),
           concat('{"cardholder_id":', toString(1000000 + number), ',"school_id":"BS', toString(intDiv(number, ${perSchool})),
                  '","kind":"student","person_no":"P', toString(number), '","name":"学生","gender":"U","grade":',
                  toString(1 + number % 6), ',"class_name":"', toString(1 + number % 6), '-', toString(number % 10), '"}')
    from numbers(${students})`);
  await command(`
    insert into onecard.dimension_changes
    select 2100000000000 + number, 'merchants', concat('BM', toString(number)), now64(3),
           concat('{"merchant_id":"BM', toString(number), '","school_id":"BS', toString(intDiv(number, 3)),
                  '","name":"食堂","kind":"canteen","settlement_kind":"independent"}')
    from numbers(300)`);
  // Three swipes per student-day: in, out, and a class, dorm or bus swipe; arrivals spread 07:00-08:30.
  await command(`
    insert into onecard.swipes
    with intDiv(number, 3) as sd, sd % ${students} as student, intDiv(sd, ${students}) as day, number % 3 as slot,
         intDiv(student, ${perSchool}) as school
    select 1000000000000 + number, concat('BS', toString(school)), toDate('2026-10-01') + day,
           multiIf(slot = 0, 'gate_in', slot = 1, 'gate_out', student % 3 = 0, 'class', student % 3 = 1, 'dorm_in', 'bus_on'),
           concat('BS', toString(school), '-T', toString(slot)), number, hex(student), 1000000 + student,
           toDateTime64(toDate('2026-10-01') + day, 3, 'Asia/Shanghai')
             + toIntervalMinute(multiIf(slot = 0, 420 + (number * 7919) % 90, slot = 1, 960 + (number * 104729) % 60, 1140)),
           now64(3)
    from numbers(${swipes})`);
  await command(`
    insert into onecard.ledger_transactions
    with number % ${students} as student, intDiv(student, ${perSchool}) as school
    select 1000000000000 + number, 1000000000000 + number, 'purchase', 300 + (number * 7919) % 1200, concat('BS', toString(school)),
           toDate('2026-10-01') + number % 30, concat('BM', toString(school * 3 + number % 3)), concat('BS', toString(school), '-POS'),
           hex(student), 1000000 + student, ['breakfast', 'lunch', 'dinner'][1 + number % 3], 0, '', '', '', number,
           toDateTime64(toDate('2026-10-01') + number % 30, 3, 'Asia/Shanghai') + toIntervalMinute(420 + (number % 3) * 300), '{}'
    from numbers(${purchases})`);
  await command(`
    insert into onecard.ledger_postings
    with intDiv(number, 2) as t, t % ${students} as student, intDiv(student, ${perSchool}) as school,
         300 + (t * 7919) % 1200 as fen
    select 1000000000000 + t, 1000000000000 + number, 1000000000000 + t, toDate('2026-10-01') + t % 30, 'purchase', number % 2,
           if(number % 2 = 0, '200101', '2101'), concat('BS', toString(school)), '', 0, '', if(number % 2 = 0, fen, -fen)
    from numbers(${purchases * 2})`);
  console.log(
    `generated ${swipes} swipes, ${purchases} purchases, ${purchases * 2} postings in ${seconds(genStarted).toFixed(1)} s`,
  );

  const dbtStarted = performance.now();
  const build = await buildMarts({ clickhouseUrl, targetPath: path.join(varDir, 'dbt-target') });
  const dbtBuildS = seconds(dbtStarted);
  console.log(
    `dbt build: ${build.models} models, ${build.tests} tests in ${dbtBuildS.toFixed(1)} s (dbt's own: ${build.elapsedS.toFixed(1)} s); ` +
      `success ${build.success}${build.success ? '' : ` ${JSON.stringify({ models: build.failedModels, tests: build.failedTests, errors: build.errors })}`}`,
  );

  // 3. The report API's queries, as the API sends them.
  const timed = async (query: string, params: Record<string, unknown>) => {
    const ms: number[] = [];
    let rows = 0;
    for (let i = 0; i < 7; i++) {
      const started = performance.now();
      const rs = await warehouse.query({ query, query_params: params, format: 'JSONEachRow' });
      rows = (await rs.json()).length;
      ms.push(performance.now() - started);
    }
    return { ms: Math.round(median(ms) * 10) / 10, rows };
  };
  const monthly = await timed(reports['merchant-monthly']!.sql, { merchantId: 'BM150', year: 2026 });
  const attendance = await timed(reports['attendance-class']!.sql, { schoolId: 'BS50', date: '2026-10-15' });
  const monthlyRaw = await timed(
    `select merchant_id, toStartOfMonth(business_date) as month, count() as purchases, sum(amount_fen) as purchase_fen
       from onecard.ledger_transactions final
      where school_id = {schoolId:String} and merchant_id = {merchantId:String}
        and business_date >= {month:Date} and business_date < addMonths({month:Date}, 1)
      group by merchant_id, month`,
    { schoolId: 'BS50', merchantId: 'BM150', month: '2026-10-01' },
  );
  const attendanceRaw = await timed(
    `select cardholder_id % 10 as class, count() as students, countIf(first_in > 480) as late
       from (select cardholder_id, min(toHour(toTimeZone(swiped_at, 'Asia/Shanghai')) * 60 + toMinute(toTimeZone(swiped_at, 'Asia/Shanghai'))) as first_in
               from onecard.swipes final
              where school_id = {schoolId:String} and swipe_date = {date:Date} and kind in ('gate_in', 'class')
              group by cardholder_id)
      group by class`,
    { schoolId: 'BS50', date: '2026-10-15' },
  );
  console.log(
    `merchant monthly report: ${monthly.ms} ms (${monthly.rows} rows; from the raw table with FINAL: ${monthlyRaw.ms} ms); ` +
      `school daily attendance per class: ${attendance.ms} ms (${attendance.rows} rows; raw: ${attendanceRaw.ms} ms)`,
  );

  // 4. Memory of the warehouse process.
  const warehouseRssMb = rssMb(wh.child.pid!, 'VmRSS');
  const size = await (
    await warehouse.query({
      query: `select formatReadableSize(sum(bytes_on_disk)) as disk from system.parts where active and database = 'onecard'`,
      format: 'JSONEachRow',
    })
  ).json<{ disk: string }>();
  console.log(`warehouse RSS ${warehouseRssMb} MB; raw tables on disk ${size[0]?.disk}`);
  console.log(
    JSON.stringify({
      ingestEventsPerS,
      directRowsPerS,
      ratio: Math.round((ingestEventsPerS / directRowsPerS) * 100) / 100,
      merchantMonthlyMs: monthly.ms,
      attendanceDailyMs: attendance.ms,
      dbtBuildS: Math.round(dbtBuildS * 10) / 10,
      warehouseRssMb,
    }),
  );
} finally {
  await db.end();
  await warehouse.close();
  await wh.stop();
  for (const child of children.reverse()) await child.stop();
  log.end();
}
