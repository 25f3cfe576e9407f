import http from 'node:http';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { authenticate, readCredentials, type Principal, type WarehouseUsers } from './auth.ts';
import { readBody } from './body.ts';
import { WarehouseEngine, type Work } from './engine.ts';
import { ClickHouseHttpError, Codes, renderError, type ErrorCatalog } from './errors.ts';
import { EMPTY_SUMMARY, contentTypeFor, summaryHeader, type Summary } from './formats.ts';
import { effectiveReadonly, parseParams } from './params.ts';
import { READONLY_LEADERS, inspectStatement, splitInsert, statementLeaders } from './sql-scan.ts';

/**
 * The ClickHouse HTTP interface over the process's chDB engine. Every other process, dbt and analysts'
 * tools speak plain ClickHouse HTTP to it; pointing CLICKHOUSE_URL at a real ClickHouse server is the switch.
 */

export type WarehouseServerOptions = {
  dataDir: string;
  host: string;
  port: number;
  users: WarehouseUsers;
  logger: Logger;
  /** Largest accepted request body, after decompression. Default 1 GiB. */
  maxBodyBytes?: number;
};

export type WarehouseServer = { url: string; close(): Promise<void> };

/** How far into a body the INSERT scanner looks for the start of inline data. */
const INSERT_SCAN_BYTES = 1 << 20;
const DEFAULT_SESSION_TIMEOUT_S = 60;
const MAX_SESSION_TIMEOUT_S = 3600;

export class PortInUseError extends Error {}

export async function startWarehouseServer(opts: WarehouseServerOptions): Promise<WarehouseServer> {
  const { logger } = opts;
  const engine = await WarehouseEngine.open(opts.dataDir, logger);
  const catalog: ErrorCatalog = {
    version: engine.info.version,
    nameOf: (code) => engine.info.errorNames.get(code) ?? 'UNKNOWN_EXCEPTION',
  };
  const maxBodyBytes = opts.maxBodyBytes ?? 1024 * 1024 * 1024;
  const displayName = os.hostname();

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      logger.error({ err }, 'unhandled error while serving a request');
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=UTF-8' });
      res.end();
    });
  });
  server.keepAliveTimeout = 10_000;
  server.requestTimeout = 0; // big inserts and long queries must not be cut by Node's default 300 s
  server.headersTimeout = 60_000;

  function baseHeaders(queryId: string, format: string): Record<string, string> {
    return {
      'X-ClickHouse-Server-Display-Name': displayName,
      'X-ClickHouse-Query-Id': queryId,
      'X-ClickHouse-Format': format,
      'X-ClickHouse-Timezone': engine.info.timezone,
      'Keep-Alive': 'timeout=10',
    };
  }

  function sendText(
    res: http.ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ) {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=UTF-8', ...headers });
    res.end(body);
  }

  function sendError(
    res: http.ServerResponse,
    err: unknown,
    queryId: string,
    format: string,
    summary: Summary = EMPTY_SUMMARY,
  ) {
    const r = renderError(err, catalog);
    const headers: Record<string, string> = {
      ...baseHeaders(queryId, format),
      'X-ClickHouse-Exception-Code': String(r.code),
      'X-ClickHouse-Summary': summaryHeader(summary),
    };
    if (r.status === 401) headers['WWW-Authenticate'] = 'Basic realm="ClickHouse"';
    if (res.headersSent) {
      res.end();
      return r;
    }
    sendText(res, r.status, r.body, headers);
    return r;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://warehouse');
    const method = req.method ?? 'GET';
    if (url.pathname === '/ping' || url.pathname === '/replicas_status') {
      sendText(res, 200, 'Ok.\n');
      return;
    }
    if (url.pathname !== '/' && url.pathname !== '/query') {
      sendText(
        res,
        404,
        `There is no handle ${url.pathname}\n\nUse / or /ping for health checks.\nOr /replicas_status for more sophisticated health checks.\n\nSend queries from your program with POST method or GET /?query=...\n`,
      );
      return;
    }
    if ((method === 'GET' || method === 'HEAD') && !url.searchParams.has('query')) {
      sendText(res, 200, 'Ok.\n');
      return;
    }
    if (method !== 'GET' && method !== 'POST' && method !== 'HEAD') {
      sendText(res, 405, `Method ${method} is not allowed\n`);
      return;
    }
    const params = parseParams(url, engine.info.settingNames);
    const queryId = params.queryId ?? randomUUID();
    let format = params.defaultFormat ?? 'TabSeparated';
    let principal: Principal | undefined;
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    try {
      principal = authenticate(readCredentials(req.headers, url.searchParams), opts.users);
      const body = method === 'POST' ? await readBody(req, maxBodyBytes) : Buffer.alloc(0);
      const { work, outputFormat } = buildWork(params.query, body, format, params.queryParams);
      format = outputFormat;
      const readonly = effectiveReadonly(principal.readonly, method, params.readonlyParam);
      if (readonly === 1 && work.kind === 'query') {
        const refused = statementLeaders(work.sql).find((w) => !READONLY_LEADERS.has(w));
        if (refused)
          throw new ClickHouseHttpError(
            Codes.READONLY,
            `${principal.user}: Cannot execute query in readonly mode (${refused} is not a read-only statement)`,
          );
      }
      const timeoutS = Math.min(params.sessionTimeoutS ?? DEFAULT_SESSION_TIMEOUT_S, MAX_SESSION_TIMEOUT_S);
      const result = await engine.execute({
        user: principal.user,
        readonly,
        settings: params.settings,
        database: params.database,
        session: params.sessionId
          ? { id: params.sessionId, timeoutS, check: params.sessionCheck }
          : undefined,
        work,
        signal: abort.signal,
      });
      const headers: Record<string, string> = {
        ...baseHeaders(queryId, format),
        'Content-Type': contentTypeFor(format),
        'X-ClickHouse-Summary': summaryHeader(result.summary),
      };
      let payload: Uint8Array = result.bytes;
      const encoding = params.enableHttpCompression
        ? pickEncoding(req.headers['accept-encoding'])
        : undefined;
      if (encoding && payload.length > 0) {
        payload =
          encoding === 'gzip'
            ? zlib.gzipSync(payload)
            : encoding === 'br'
              ? zlib.brotliCompressSync(payload)
              : zlib.deflateSync(payload);
        headers['Content-Encoding'] = encoding;
      }
      headers['Content-Length'] = String(payload.length);
      res.writeHead(200, headers);
      res.end(method === 'HEAD' ? undefined : payload);
      logger.debug(
        {
          queryId,
          user: principal.user,
          ms: elapsedMs(started),
          bytes: payload.length,
          ignoredParams: params.ignored,
        },
        'query ok',
      );
    } catch (err) {
      const r = sendError(res, err, queryId, format);
      const line = {
        queryId,
        user: principal?.user,
        status: r.status,
        code: r.code,
        ms: elapsedMs(started),
        error: r.body.slice(0, 500),
      };
      if (r.status >= 500) logger.warn(line, 'query failed');
      else logger.info(line, 'query refused');
    }
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(
          new PortInUseError(
            `port ${opts.port} on ${opts.host} is already in use: stop whatever holds it or choose another port with WAREHOUSE_PORT`,
          ),
        );
      } else reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(opts.port, opts.host);
  }).catch(async (err) => {
    await engine.close();
    throw err;
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  logger.info(
    { url, dataDir: opts.dataDir, engine: engine.info.version },
    'warehouse listening (ClickHouse HTTP interface on chDB)',
  );

  let closed: Promise<void> | undefined;
  return {
    url,
    close() {
      closed ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await engine.close();
        logger.info('warehouse stopped, chDB data folder closed');
      })();
      return closed;
    },
  };
}

function elapsedMs(started: bigint): number {
  return Number((process.hrtime.bigint() - started) / 1000n) / 1000;
}

function pickEncoding(accept: string | undefined): 'gzip' | 'br' | 'deflate' | undefined {
  const a = (accept ?? '').toLowerCase();
  if (/\bgzip\b/.test(a)) return 'gzip';
  if (/\bbr\b/.test(a)) return 'br';
  if (/\bdeflate\b/.test(a)) return 'deflate';
  return undefined;
}

/**
 * Turns the URL query and the body into one engine call, as ClickHouse does: the statement is
 * `query + "\n" + body`; for `INSERT ... FORMAT X` / `VALUES` everything after the format name is data and
 * goes to the engine as bytes.
 */
export function buildWork(
  urlQuery: string | null,
  body: Buffer,
  defaultFormat: string,
  queryParams: Record<string, string>,
): { work: Work; outputFormat: string } {
  if (urlQuery !== null && body.length) {
    // The usual client INSERT: the whole statement in the URL, only data in the body. The body goes to the
    // engine as it came, without being copied behind the statement first.
    const statement = Buffer.from(`${urlQuery}\n`, 'utf8');
    const split = splitInsert(statement.toString('latin1'));
    if (split && split.dataStart === statement.length)
      return {
        work: { kind: 'insert', prefix: statement.subarray(0, split.queryEnd).toString('utf8'), data: body },
        outputFormat: defaultFormat,
      };
  }
  const full =
    urlQuery === null
      ? body
      : body.length
        ? Buffer.concat([Buffer.from(`${urlQuery}\n`, 'utf8'), body])
        : Buffer.from(urlQuery, 'utf8');
  const head = full.subarray(0, INSERT_SCAN_BYTES).toString('latin1');
  const split = splitInsert(head);
  if (split && split.dataStart !== undefined) {
    return {
      work: {
        kind: 'insert',
        prefix: full.subarray(0, split.queryEnd).toString('utf8'),
        data: full.subarray(split.dataStart),
      },
      outputFormat: defaultFormat,
    };
  }
  const sql = full.toString('utf8');
  const params = Object.keys(queryParams).length ? queryParams : undefined;
  if (split && full.length <= INSERT_SCAN_BYTES && !params) {
    // INSERT ... SELECT: no inline data; the raw-insert path reports written rows in the summary.
    return { work: { kind: 'insert', prefix: sql, data: Buffer.alloc(0) }, outputFormat: defaultFormat };
  }
  const info = inspectStatement(sql);
  if (info.empty) throw new ClickHouseHttpError(Codes.SYNTAX_ERROR, 'Empty query', 400);
  if (info.intoOutfile)
    throw new ClickHouseHttpError(Codes.INTO_OUTFILE_NOT_ALLOWED, 'INTO OUTFILE is not allowed');
  return {
    work: { kind: 'query', sql, format: defaultFormat, params },
    outputFormat: info.outputFormat ?? defaultFormat,
  };
}
