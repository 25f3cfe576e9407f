import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Session, drainPending } from 'chdb';
import type { Logger } from 'pino';
import { ClickHouseHttpError, Codes } from './errors.ts';
import type { Summary } from './formats.ts';

/**
 * The one chDB engine of this process, bound to one on-disk data folder.
 *
 * Connections: chDB allows many native connections to the same data folder, each with its own query
 * context (settings, current database, temporary tables) over the shared tables. So
 *  - a request without `session_id` gets a fresh connection, created with its settings and `readonly`
 *    level as engine arguments (no SQL text involved), and closed when the request ends;
 *  - a request with `session_id` reuses that session's connection: temporary tables and SETs live there,
 *    exactly like a ClickHouse HTTP session, until `session_timeout` seconds of idleness.
 *
 * Queue: every engine call runs through one FIFO, one at a time. chDB's server-side parameter binding is
 * not isolated between connections under real concurrency (chdb's own notes), and a connection closed while
 * a call is running on it aborts the engine, so strict serialisation is the safe choice on a 2-core box.
 * Calls are async (libuv pool), so the event loop stays free: /ping answers during a long query.
 */

type NativeResult = { bytes: Uint8Array; elapsed: number; rowsRead: number; bytesRead: number };
type NativeInsertResult = { elapsed: number; rowsWritten: number; bytesWritten: number };
type NativeAddon = {
  QueryAsyncConnection(
    conn: unknown,
    sql: string,
    format: string,
    params?: Record<string, string>,
  ): Promise<NativeResult>;
  InsertRawAsyncConnection(
    conn: unknown,
    prefix: string,
    data: Buffer,
    countLines: boolean,
  ): Promise<NativeInsertResult>;
};

/**
 * chdb's public `Session.queryBindAsync` re-escapes string parameters (it expects JS values), while HTTP
 * `param_x` values already arrive in ClickHouse's escaped text form; and its public raw insert whitelists
 * text formats and table names, while HTTP INSERTs carry any statement and any format (RowBinary, Native,
 * Parquet...). Both are thin wrappers over these two native calls, which we use directly with the Session's
 * own connection handle. Lifecycle (open/close) stays with the public Session API.
 */
function loadNative(): NativeAddon {
  const require = createRequire(import.meta.url);
  const chdbDir = path.dirname(require.resolve('chdb'));
  const loader = require(path.join(chdbDir, 'dist', 'loader.js')) as { loadNative(): NativeAddon };
  return loader.loadNative();
}

/** Settings where chDB (clickhouse-local) differs from a ClickHouse server's defaults. */
const SERVER_DEFAULTS = ['--implicit_select=0', '--allow_introspection_functions=0'];

export type Work =
  | { kind: 'query'; sql: string; format: string; params: Record<string, string> | undefined }
  | { kind: 'insert'; prefix: string; data: Buffer };

export type ExecSpec = {
  user: string;
  readonly: 0 | 1 | 2;
  settings: Record<string, string>;
  database: string | undefined;
  session: { id: string; timeoutS: number; check: boolean } | undefined;
  work: Work;
  signal?: AbortSignal;
};

export type ExecResult = { bytes: Uint8Array; summary: Summary };

type HttpSession = {
  id: string;
  user: string;
  readonly: 0 | 1 | 2;
  chdb: Session;
  timeoutS: number;
  lastUsed: number;
};

const quoteIdent = (s: string) => '`' + s.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
const quoteString = (s: string) => "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";

export type EngineInfo = {
  version: string;
  timezone: string;
  settingNames: Set<string>;
  errorNames: Map<number, string>;
};

export class WarehouseEngine {
  private readonly native = loadNative();
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private closing = false;
  private readonly sessions = new Map<string, HttpSession>();
  private sweeper: NodeJS.Timeout | undefined;

  private constructor(
    readonly dataDir: string,
    private readonly base: Session,
    readonly info: EngineInfo,
    private readonly logger: Logger,
    private readonly maxQueue: number,
    private readonly maxSessions: number,
  ) {}

  static async open(
    dataDir: string,
    logger: Logger,
    opts: { maxQueue?: number; maxSessions?: number } = {},
  ): Promise<WarehouseEngine> {
    fs.mkdirSync(dataDir, { recursive: true });
    let base: Session;
    try {
      base = new Session(dataDir, { connectionArgs: SERVER_DEFAULTS });
    } catch (err) {
      throw new Error(
        `cannot open the chDB data folder ${dataDir} (is another warehouse process using it?): ${(err as Error).message}`,
        { cause: err },
      );
    }
    const text = async (sql: string) => (await base.queryAsync(sql, { format: 'TabSeparated' })).text();
    const version = (await text('SELECT version()')).trim();
    const timezone = (await text('SELECT timezone()')).trim();
    const settingNames = new Set(
      (await text('SELECT name FROM system.settings')).split('\n').filter(Boolean),
    );
    const errorNames = new Map<number, string>();
    for (const line of (
      await text(
        "SELECT number, errorCodeToName(number) FROM numbers(2000) WHERE errorCodeToName(number) != ''",
      )
    ).split('\n')) {
      const [n, name] = line.split('\t');
      if (n && name) errorNames.set(Number(n), name);
    }
    const engine = new WarehouseEngine(
      dataDir,
      base,
      { version, timezone, settingNames, errorNames },
      logger,
      opts.maxQueue ?? 1000,
      opts.maxSessions ?? 256,
    );
    engine.sweeper = setInterval(() => void engine.sweepSessions(), 5000);
    engine.sweeper.unref();
    return engine;
  }

  get queueLength(): number {
    return this.queued;
  }

  /** Runs `fn` when every earlier call has finished. A caller that gave up before its turn is skipped. */
  private enqueue<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.closing)
      return Promise.reject(new ClickHouseHttpError(Codes.ABORTED, 'The warehouse is shutting down', 503));
    if (this.queued >= this.maxQueue) {
      return Promise.reject(
        new ClickHouseHttpError(
          Codes.TOO_MANY_SIMULTANEOUS_QUERIES,
          `Too many simultaneous queries. Maximum: ${this.maxQueue}`,
        ),
      );
    }
    this.queued++;
    const run = async () => {
      try {
        if (signal?.aborted)
          throw new ClickHouseHttpError(
            Codes.QUERY_WAS_CANCELLED,
            'Query was cancelled: the client went away before it started',
          );
        return await fn();
      } finally {
        this.queued--;
      }
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  execute(spec: ExecSpec): Promise<ExecResult> {
    return this.enqueue(() => this.executeNow(spec), spec.signal);
  }

  private connectionArgs(readonly: 0 | 1 | 2, settings: Record<string, string>): string[] {
    const args = [...SERVER_DEFAULTS];
    for (const [k, v] of Object.entries(settings)) args.push(`--${k}=${v}`);
    if (readonly) args.push(`--readonly=${readonly}`);
    return args;
  }

  /** Opens a connection; when the engine refuses the URL settings, finds and names the bad one. */
  private openConnection(readonly: 0 | 1 | 2, settings: Record<string, string>): Session {
    try {
      return new Session(this.dataDir, { connectionArgs: this.connectionArgs(readonly, settings) });
    } catch (err) {
      for (const [k, v] of Object.entries(settings)) {
        try {
          new Session(this.dataDir, { connectionArgs: this.connectionArgs(readonly, { [k]: v }) }).close();
        } catch {
          throw new ClickHouseHttpError(
            Codes.BAD_ARGUMENTS,
            `Cannot apply setting ${k}=${JSON.stringify(v)} from the URL: the value is not valid for this setting`,
          );
        }
      }
      throw err;
    }
  }

  private async executeNow(spec: ExecSpec): Promise<ExecResult> {
    let conn: Session;
    let owned = false;
    let resets: string[] = [];
    if (spec.session) {
      const s = await this.sessionFor(spec);
      conn = s.chdb;
      resets = await this.applySessionSettings(s, spec.settings);
    } else {
      conn = this.openConnection(spec.readonly, spec.settings);
      owned = true;
    }
    try {
      if (spec.database !== undefined)
        await this.native.QueryAsyncConnection(
          conn.connection,
          `USE ${quoteIdent(spec.database)}`,
          'TabSeparated',
        );
      const w = spec.work;
      if (w.kind === 'insert') {
        const r = await this.native.InsertRawAsyncConnection(conn.connection, w.prefix, w.data, false);
        return {
          bytes: new Uint8Array(0),
          summary: {
            readRows: r.rowsWritten,
            readBytes: w.data.length,
            writtenRows: r.rowsWritten,
            writtenBytes: r.bytesWritten,
            resultRows: 0,
            resultBytes: 0,
            elapsedS: r.elapsed,
          },
        };
      }
      const r = w.params
        ? await this.native.QueryAsyncConnection(conn.connection, w.sql, w.format, w.params)
        : await this.native.QueryAsyncConnection(conn.connection, w.sql, w.format);
      return {
        bytes: r.bytes,
        // chDB's rowsRead/bytesRead describe the result, not the scan.
        summary: {
          readRows: 0,
          readBytes: 0,
          writtenRows: 0,
          writtenBytes: 0,
          resultRows: r.rowsRead,
          resultBytes: r.bytes.length,
          elapsedS: r.elapsed,
        },
      };
    } finally {
      if (owned) conn.close();
      else {
        for (const reset of resets) {
          await this.native
            .QueryAsyncConnection(conn.connection, reset, 'TabSeparated')
            .catch(() => undefined);
        }
      }
    }
  }

  private async sessionFor(spec: ExecSpec): Promise<HttpSession> {
    const { id, timeoutS, check } = spec.session!;
    const existing = this.sessions.get(id);
    if (existing) {
      if (existing.user !== spec.user) {
        throw new ClickHouseHttpError(Codes.SESSION_IS_LOCKED, `Session ${id} belongs to another user`);
      }
      existing.lastUsed = Date.now();
      existing.timeoutS = timeoutS;
      return existing;
    }
    if (check) throw new ClickHouseHttpError(Codes.SESSION_NOT_FOUND, `Session ${id} not found`);
    if (this.sessions.size >= this.maxSessions) {
      throw new ClickHouseHttpError(
        Codes.TOO_MANY_SIMULTANEOUS_QUERIES,
        `Too many HTTP sessions open (${this.maxSessions})`,
      );
    }
    // A session's readonly level is fixed when it is created: 1 for read-only users, else 0.
    const readonly: 0 | 1 = spec.readonly === 1 ? 1 : 0;
    const s: HttpSession = {
      id,
      user: spec.user,
      readonly,
      chdb: this.openConnection(readonly, spec.settings),
      timeoutS,
      lastUsed: Date.now(),
    };
    this.sessions.set(id, s);
    this.logger.debug({ sessionId: id, user: spec.user }, 'http session opened');
    spec.settings = {};
    return s;
  }

  /**
   * Settings sent with a later request of an existing session apply to that request only: SET before,
   * `SET name = DEFAULT` after. A read-only session cannot change settings (readonly=1), so they are ignored.
   */
  private async applySessionSettings(s: HttpSession, settings: Record<string, string>): Promise<string[]> {
    const names = Object.keys(settings);
    if (names.length === 0) return [];
    if (s.readonly === 1) {
      this.logger.debug({ sessionId: s.id, ignored: names }, 'settings ignored on a read-only session');
      return [];
    }
    const resets: string[] = [];
    for (const name of names) {
      await this.native.QueryAsyncConnection(
        s.chdb.connection,
        `SET ${name} = ${quoteString(settings[name]!)}`,
        'TabSeparated',
      );
      resets.push(`SET ${name} = DEFAULT`);
    }
    return resets;
  }

  private async sweepSessions(): Promise<void> {
    const now = Date.now();
    const expired = [...this.sessions.values()].filter((s) => now - s.lastUsed > s.timeoutS * 1000);
    if (expired.length === 0) return;
    await this.enqueue(async () => {
      for (const s of expired) {
        if (this.sessions.get(s.id) === s && Date.now() - s.lastUsed > s.timeoutS * 1000) {
          this.sessions.delete(s.id);
          s.chdb.close();
          this.logger.debug({ sessionId: s.id }, 'http session expired');
        }
      }
    }).catch(() => undefined);
  }

  /** Waits for queued work, closes every connection and releases the data folder. */
  async close(): Promise<void> {
    if (this.closing) return;
    if (this.sweeper) clearInterval(this.sweeper);
    const last = this.tail;
    this.closing = true;
    await last.catch(() => undefined);
    for (const s of this.sessions.values()) s.chdb.close();
    this.sessions.clear();
    this.base.close();
    await drainPending();
  }
}
