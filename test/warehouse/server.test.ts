import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { queryAsync } from 'chdb';
import { startWarehouse, type StartedWarehouse } from './start-warehouse.ts';

/** One warehouse process for this file; reference bytes come from chDB in this test process (in memory). */
let wh: StartedWarehouse;
let sys: ClickHouseClient;
let analyst: ClickHouseClient;

const basic = (user: string, password: string) =>
  'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
const asSystem = () => ({ authorization: basic('onecard', wh.systemPassword) });
const asAnalyst = () => ({ authorization: basic('analyst', wh.analystPassword) });

async function post(
  sql: string | Buffer,
  opts: { params?: Record<string, string>; headers?: Record<string, string> } = {},
) {
  const u = new URL(wh.url);
  for (const [k, v] of Object.entries(opts.params ?? {})) u.searchParams.set(k, v);
  const body =
    typeof sql === 'string' ? sql : new Uint8Array(sql.buffer as ArrayBuffer, sql.byteOffset, sql.length);
  const res = await fetch(u, { method: 'POST', body, headers: opts.headers ?? asSystem() });
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}

async function streamBytes(stream: AsyncIterable<Buffer | Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  wh = await startWarehouse({ allowAnonymousReadonly: true });
  sys = createClient({ url: wh.url, username: 'onecard', password: wh.systemPassword });
  analyst = createClient({ url: wh.url, username: 'analyst', password: wh.analystPassword });
  await sys.command({ query: 'CREATE DATABASE IF NOT EXISTS t' });
  await sys.command({
    query:
      'CREATE TABLE t.cards (id UInt64, school String, balance_fen Int64, at DateTime64(3)) ENGINE = MergeTree ORDER BY id',
  });
}, 90_000);

afterAll(async () => {
  await sys?.close();
  await analyst?.close();
  const code = await wh?.stop();
  expect(code).toBe(0);
});

describe('health and plain HTTP', () => {
  it('answers /ping, /replicas_status and GET / like ClickHouse', async () => {
    for (const p of ['/ping', '/replicas_status', '/']) {
      const res = await fetch(wh.url + p);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('Ok.\n');
    }
    expect((await fetch(wh.url + '/nope')).status).toBe(404);
  });

  it('lets the anonymous default user read on GET, like a fresh ClickHouse, but never write', async () => {
    const res = await fetch(`${wh.url}/?query=SELECT+version()`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-clickhouse-format')).toBe('TabSeparated');
    expect(res.headers.get('content-type')).toBe('text/tab-separated-values; charset=UTF-8');
    expect(await res.text()).toMatch(/^26\.\d+\.\d+\.\d+\n$/);
    const w = await fetch(`${wh.url}/`, {
      method: 'POST',
      body: "INSERT INTO t.cards VALUES (1, 'x', 1, now())",
    });
    expect(w.status).toBe(500);
    expect(w.headers.get('x-clickhouse-exception-code')).toBe('164');
  });

  it('runs GET and POST queries, query in the URL, in the body, or split across both', async () => {
    const a = await fetch(`${wh.url}/?query=${encodeURIComponent('SELECT 1 + 1')}`, { headers: asSystem() });
    expect(await a.text()).toBe('2\n');
    const b = await post('SELECT 40 + 2');
    expect(b.bytes.toString()).toBe('42\n');
    const c = await post('+ 3', { params: { query: 'SELECT 4' } });
    expect(c.bytes.toString()).toBe('7\n');
  });

  it('echoes query_id and reports a summary', async () => {
    const { res, bytes } = await post('SELECT number FROM numbers(1000)', {
      params: { query_id: 'qid-123' },
    });
    expect(res.headers.get('x-clickhouse-query-id')).toBe('qid-123');
    const summary = JSON.parse(res.headers.get('x-clickhouse-summary')!);
    expect(summary.result_rows).toBe('1000');
    expect(summary.result_bytes).toBe(String(bytes.length));
  });

  it('refuses GET writes (readonly=2 on GET, as ClickHouse)', async () => {
    const res = await fetch(
      `${wh.url}/?query=${encodeURIComponent('CREATE TABLE t.nope (a UInt8) ENGINE = Memory')}`,
      { headers: asSystem() },
    );
    expect(res.headers.get('x-clickhouse-exception-code')).toBe('164');
  });
});

describe('@clickhouse/client', () => {
  it('inserts JSONEachRow and reads it back with server-side query_params', async () => {
    const r = await sys.insert({
      table: 't.cards',
      values: [
        { id: 1, school: '第一中学', balance_fen: 1500, at: '2026-09-01 07:30:00.000' },
        { id: 2, school: '实验小学', balance_fen: -20, at: '2026-09-01 07:31:00.000' },
        {
          id: 3,
          school: "O'Brien \\ tab\there",
          balance_fen: '9007199254740993',
          at: '2026-09-01 07:32:00.000',
        },
      ],
      format: 'JSONEachRow',
    });
    expect(r.summary?.written_rows).toBe('3');
    const rs = await sys.query({
      query:
        'SELECT id, school, balance_fen FROM t.cards WHERE school = {school:String} OR id > {min:UInt64} ORDER BY id',
      query_params: { school: '第一中学', min: 2 },
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    });
    const rows = await rs.json<{ id: string; school: string; balance_fen: string }>();
    expect(rows.map((x) => Number(x.id))).toEqual([1, 3]);
    expect(rows[1]!.school).toBe("O'Brien \\ tab\there");
    expect(String(rows[1]!.balance_fen)).toBe('9007199254740993');
  });

  it('binds a parameter that looks like SQL as a plain value', async () => {
    const rs = await sys.query({
      query: 'SELECT {s:String} AS s',
      query_params: { s: "x'; DROP TABLE t.cards; --" },
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ s: "x'; DROP TABLE t.cards; --" }]);
    const exists = await sys.query({ query: 'EXISTS TABLE t.cards', format: 'JSONEachRow' });
    expect(await exists.json()).toEqual([{ result: 1 }]);
  });

  it('returns RowBinary bytes identical to chDB', async () => {
    const sql =
      "SELECT number AS n, toString(number) AS s, toDateTime64('2026-01-02 03:04:05.678', 3, 'UTC') AS d FROM numbers(5)";
    const r = await sys.exec({ query: `${sql} FORMAT RowBinary` });
    const got = await streamBytes(r.stream);
    const want = Buffer.from((await queryAsync(sql, { format: 'RowBinary' })).bytes());
    expect(got.equals(want)).toBe(true);
  });

  it('keeps temporary tables per session_id', async () => {
    const a = 'sess-a-' + Date.now();
    const b = 'sess-b-' + Date.now();
    await sys.command({ query: 'CREATE TEMPORARY TABLE scratch (x UInt8)', session_id: a });
    await sys.command({ query: 'INSERT INTO scratch VALUES (7)', session_id: a });
    const inA = await sys.query({ query: 'SELECT x FROM scratch', session_id: a, format: 'JSONEachRow' });
    expect(await inA.json()).toEqual([{ x: 7 }]);
    await expect(
      sys.query({ query: 'SELECT x FROM scratch', session_id: b, format: 'JSONEachRow' }),
    ).rejects.toMatchObject({ code: '60' });
    await expect(sys.query({ query: 'SELECT x FROM scratch', format: 'JSONEachRow' })).rejects.toMatchObject({
      code: '60',
    });
    // A session belongs to its user.
    await expect(
      analyst.query({ query: 'SELECT x FROM scratch', session_id: a, format: 'JSONEachRow' }),
    ).rejects.toMatchObject({ code: '373' });
  });

  it('reports ClickHouse errors with their codes', async () => {
    // (the client's own regex takes the first "(UPPER)" group as the type, here "(SELEC)", as with a real server)
    await expect(sys.query({ query: 'SELEC 1' })).rejects.toMatchObject({ code: '62' });
    await expect(sys.query({ query: 'SELECT * FROM t.missing' })).rejects.toMatchObject({
      code: '60',
      type: 'UNKNOWN_TABLE',
    });
  });

  it('refuses a wrong password with AUTHENTICATION_FAILED (516)', async () => {
    const bad = createClient({ url: wh.url, username: 'onecard', password: 'wrong' });
    await expect(bad.query({ query: 'SELECT 1' })).rejects.toMatchObject({ code: '516' });
    await bad.close();
  });
});

describe('formats are byte-exact', () => {
  const sql =
    "SELECT number AS id, toInt64(number) - 2 AS signed, toString(number) || '\\t\"q\"' AS s, toDate('2026-09-01') + number AS d, " +
    '[number, number * 2] AS arr, if(number % 2 = 0, NULL, number) AS maybe, toDecimal64(number / 3, 2) AS dec FROM numbers(4)';
  const formats = [
    'TabSeparated',
    'TSV',
    'TabSeparatedWithNamesAndTypes',
    'CSV',
    'CSVWithNames',
    'JSON',
    'JSONCompact',
    'JSONEachRow',
    'JSONCompactEachRow',
    'Native',
    'RowBinary',
    'RowBinaryWithNamesAndTypes',
    'Parquet',
    'Arrow',
    'Values',
    'Pretty',
    'XML',
  ];
  const settings = ' SETTINGS output_format_write_statistics = 0';
  it.each(formats)('%s', async (format) => {
    const want = Buffer.from(
      (await queryAsync(`${sql} FORMAT ${format}${settings}`, { format: 'TabSeparated' })).bytes(),
    );
    const { res, bytes } = await post(`${sql} FORMAT ${format}${settings}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-clickhouse-format')).toBe(format);
    expect(bytes.equals(want)).toBe(true);
    const viaDefault = await post(`${sql}${settings}`, { params: { default_format: format } });
    expect(viaDefault.bytes.equals(want)).toBe(true);
    expect(viaDefault.res.headers.get('x-clickhouse-format')).toBe(format);
  });

  it('sets content types as ClickHouse does', async () => {
    const ct = async (f: string) => (await post(`SELECT 1 FORMAT ${f}`)).res.headers.get('content-type');
    expect(await ct('JSONEachRow')).toBe('application/json; charset=UTF-8');
    expect(await ct('CSVWithNames')).toBe('text/csv; charset=UTF-8; header=present');
    expect(await ct('Parquet')).toBe('application/octet-stream');
  });
});

describe('inserts over raw HTTP', () => {
  it('takes RowBinary and Native bodies as bytes', async () => {
    await post('CREATE TABLE t.bin (a UInt32, s String, d DateTime64(3)) ENGINE = MergeTree ORDER BY a');
    const sel =
      "SELECT toUInt32(number) AS a, 'x\\0y' || toString(number) AS s, toDateTime64('2026-01-01 00:00:00', 3) AS d FROM numbers(100)";
    const rb = Buffer.from((await queryAsync(sel, { format: 'RowBinary' })).bytes());
    const r1 = await post(rb, { params: { query: 'INSERT INTO t.bin FORMAT RowBinary' } });
    expect(r1.res.status).toBe(200);
    expect(JSON.parse(r1.res.headers.get('x-clickhouse-summary')!).written_rows).toBe('100');
    const native = Buffer.from((await queryAsync(sel, { format: 'Native' })).bytes());
    const r2 = await post(native, { params: { query: 'INSERT INTO t.bin FORMAT Native' } });
    expect(r2.res.status).toBe(200);
    const check = await post("SELECT count(), countIf(s = 'x\\0y7') FROM t.bin");
    expect(check.bytes.toString()).toBe('200\t2\n');
  });

  it('takes the query and data in one body, and a 10 MB CSV body', async () => {
    const r = await post(
      'INSERT INTO t.bin FORMAT CSV\n1000,"a",2026-01-01 00:00:00\n1001,"b",2026-01-01 00:00:00\n',
    );
    expect(r.res.status).toBe(200);
    const line = (i: number) => `${i},"${'z'.repeat(80)}",2026-01-01 00:00:00\n`;
    const rows = 110_000;
    const big = Buffer.from(Array.from({ length: rows }, (_, i) => line(10_000 + i)).join(''));
    expect(big.length).toBeGreaterThan(10_000_000);
    const r2 = await post(big, { params: { query: 'INSERT INTO t.bin FORMAT CSV' } });
    expect(r2.res.status).toBe(200);
    expect(JSON.parse(r2.res.headers.get('x-clickhouse-summary')!).written_rows).toBe(String(rows));
  });
});

describe('URL settings', () => {
  it('applies settings that change results and ignores unknown ones', async () => {
    const q = 'SELECT toUInt64(5) AS n FORMAT JSONEachRow';
    expect(
      (await post(q, { params: { output_format_json_quote_64bit_integers: '1' } })).bytes.toString(),
    ).toBe('{"n":"5"}\n');
    expect(
      (await post(q, { params: { output_format_json_quote_64bit_integers: '0' } })).bytes.toString(),
    ).toBe('{"n":5}\n');
    const limited = await post('SELECT number FROM numbers(10)', {
      params: { max_result_rows: '3', result_overflow_mode: 'throw' },
    });
    expect(limited.res.headers.get('x-clickhouse-exception-code')).toBe('396');
    const tolerant = await post('SELECT 1', {
      params: {
        wait_end_of_query: '1',
        send_progress_in_http_headers: '1',
        no_such_setting_at_all: 'x',
        buffer_size: '1000',
        date_time_input_format: 'best_effort',
      },
    });
    expect(tolerant.bytes.toString()).toBe('1\n');
    const tz = await post("SELECT parseDateTimeBestEffort('2026-09-01T07:30:00Z')", {
      params: { session_timezone: 'Asia/Shanghai' },
    });
    expect(tz.bytes.toString()).toBe('2026-09-01 15:30:00\n');
    const bad = await post('SELECT 1', { params: { max_result_rows: 'lots' } });
    expect(bad.res.status).toBe(400);
    expect(bad.bytes.toString()).toContain('max_result_rows');
  });

  it('uses the database parameter and compresses when asked', async () => {
    const r = await post('SELECT count() > 0 FROM cards', { params: { database: 't' } });
    expect(r.bytes.toString()).toBe('1\n');
    const u = `${wh.url}/?enable_http_compression=1&query=${encodeURIComponent("SELECT repeat('a', 1000)")}`;
    const res = await fetch(u, { headers: { ...asSystem(), 'accept-encoding': 'gzip' } });
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect((await res.text()).length).toBe(1001);
  });
});

describe('analyst is read-only (engine readonly=1)', () => {
  const tricky = [
    "INSERT INTO t.cards VALUES (99, 'x', 1, now())",
    "/* just a comment */ INSERT INTO t.cards VALUES (99, 'x', 1, now())",
    "WITH 1 AS one SELECT one; INSERT INTO t.cards VALUES (99, 'x', 1, now())",
    'CREATE TABLE t.evil (a UInt8) ENGINE = Memory',
    'CREATE TEMPORARY TABLE evil (a UInt8)',
    'DROP TABLE t.cards',
    'TRUNCATE TABLE t.cards',
    'ALTER TABLE t.cards DELETE WHERE 1',
    'ALTER TABLE t.cards ADD COLUMN x UInt8',
    'SET readonly = 0',
    'SET max_threads = 1',
    'SELECT 1 SETTINGS readonly = 0',
    "INSERT INTO FUNCTION file('evil.csv', 'CSV', 'a UInt8') VALUES (1)",
    'OPTIMIZE TABLE t.cards FINAL',
    'SYSTEM STOP MERGES',
    'KILL QUERY WHERE 1',
    'CHECK TABLE t.cards',
    'SELECT 1; SYSTEM STOP MERGES',
    'RENAME TABLE t.cards TO t.cards2',
  ];
  it.each(tricky)('refuses %s with READONLY (164)', async (sql) => {
    const { res, bytes } = await post(sql, { headers: asAnalyst() });
    expect(res.headers.get('x-clickhouse-exception-code')).toBe('164');
    expect(bytes.toString()).toMatch(/^Code: 164\. DB::Exception: .*\(READONLY\) \(version 26\./);
  });

  it('cannot lift readonly through URL parameters, GET, or a raw insert', async () => {
    const viaParam = await post("INSERT INTO t.cards VALUES (99, 'x', 1, now())", {
      headers: asAnalyst(),
      params: { readonly: '0' },
    });
    expect(viaParam.res.headers.get('x-clickhouse-exception-code')).toBe('164');
    const viaUrl = await post(Buffer.from('99,"x",1,"2026-01-01 00:00:00"\n'), {
      headers: asAnalyst(),
      params: { query: 'INSERT INTO t.cards FORMAT CSV' },
    });
    expect(viaUrl.res.headers.get('x-clickhouse-exception-code')).toBe('164');
    const viaSession = await post('CREATE TEMPORARY TABLE e (a UInt8)', {
      headers: asAnalyst(),
      params: { session_id: 'an-1' },
    });
    expect(viaSession.res.headers.get('x-clickhouse-exception-code')).toBe('164');
    const count = await post('SELECT count() FROM t.cards WHERE id = 99');
    expect(count.bytes.toString()).toBe('0\n');
  });

  it('still reads, with headers or URL credentials, and refuses INTO OUTFILE', async () => {
    const r = await fetch(
      `${wh.url}/?user=analyst&password=${encodeURIComponent(wh.analystPassword)}&query=SELECT+count()>0+FROM+t.cards`,
    );
    expect(await r.text()).toBe('1\n');
    const h = await post('SELECT 1', {
      headers: { 'x-clickhouse-user': 'analyst', 'x-clickhouse-key': wh.analystPassword },
    });
    expect(h.bytes.toString()).toBe('1\n');
    const o = await post("SELECT 1 INTO OUTFILE '/tmp/onecard-evil.csv'", { headers: asAnalyst() });
    expect(o.res.headers.get('x-clickhouse-exception-code')).toBe('358');
    const both = await post('SELECT 1', { headers: { ...asAnalyst(), 'x-clickhouse-user': 'analyst' } });
    expect(both.res.headers.get('x-clickhouse-exception-code')).toBe('516');
  });
});

describe('concurrency', () => {
  it('serves concurrent requests correctly and /ping during a long query', async () => {
    const long = post(
      'SELECT sleepEachRow(0.5) FROM numbers(4) SETTINGS max_block_size = 1, function_sleep_max_microseconds_per_block = 0',
    );
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    const ping = await fetch(wh.url + '/ping');
    expect(await ping.text()).toBe('Ok.\n');
    expect(Date.now() - t0).toBeLessThan(500);
    const many = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        sys
          .query({ query: 'SELECT {i:UInt32} * 2 AS v', query_params: { i }, format: 'JSONEachRow' })
          .then((r) => r.json<{ v: number }>()),
      ),
    );
    expect(many.map((r) => r[0]!.v)).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    expect((await long).res.status).toBe(200);
  });
});
