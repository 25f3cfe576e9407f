/**
 * ClickHouse-shaped errors: the HTTP status a ClickHouse server picks for an exception code
 * (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp), the `X-ClickHouse-Exception-Code` header and the body
 * `Code: N. DB::Exception: <message>. (ERROR_NAME) (version x.y.z.w)`.
 *
 * Error names come from the engine itself (`errorCodeToName`), loaded once at start-up, so the table is
 * always the one of the ClickHouse version inside chDB.
 */

export class ClickHouseHttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
    /** Overrides the status derived from the code (e.g. 401 when no credentials were sent at all). */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ClickHouseHttpError';
  }
}

/** Exception codes this server raises itself (same numbers as ClickHouse). */
export const Codes = {
  SYNTAX_ERROR: 62,
  BAD_ARGUMENTS: 36,
  UNKNOWN_FORMAT: 73,
  READONLY: 164,
  REQUIRED_PASSWORD: 194,
  TOO_MANY_SIMULTANEOUS_QUERIES: 202,
  QUERY_IS_TOO_LARGE: 229,
  SESSION_NOT_FOUND: 372,
  SESSION_IS_LOCKED: 373,
  INTO_OUTFILE_NOT_ALLOWED: 358,
  UNKNOWN_COMPRESSION_METHOD: 89,
  AUTHENTICATION_FAILED: 516,
  ACCESS_DENIED: 497,
  QUERY_WAS_CANCELLED: 394,
  ABORTED: 236,
} as const;

const BAD_REQUEST = new Set([
  'BAD_ARGUMENTS',
  'CANNOT_COMPILE_REGEXP',
  'CANNOT_PARSE_TEXT',
  'CANNOT_PARSE_ESCAPE_SEQUENCE',
  'CANNOT_PARSE_QUOTED_STRING',
  'CANNOT_PARSE_DATE',
  'CANNOT_PARSE_DATETIME',
  'CANNOT_PARSE_NUMBER',
  'CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING',
  'CANNOT_PARSE_IPV4',
  'CANNOT_PARSE_IPV6',
  'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
  'CANNOT_PARSE_UUID',
  'DUPLICATE_COLUMN',
  'ILLEGAL_COLUMN',
  'UNKNOWN_ELEMENT_IN_AST',
  'UNKNOWN_TYPE_OF_AST_NODE',
  'THERE_IS_NO_COLUMN',
  'TOO_DEEP_AST',
  'TOO_BIG_AST',
  'UNEXPECTED_AST_STRUCTURE',
  'SYNTAX_ERROR',
  'INCORRECT_DATA',
  'TYPE_MISMATCH',
  'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE',
]);
const NOT_FOUND = new Set([
  'UNKNOWN_TABLE',
  'UNKNOWN_FUNCTION',
  'UNKNOWN_IDENTIFIER',
  'UNKNOWN_TYPE',
  'UNKNOWN_STORAGE',
  'UNKNOWN_DATABASE',
  'UNKNOWN_SETTING',
  'UNKNOWN_DIRECTION_OF_SORTING',
  'UNKNOWN_AGGREGATE_FUNCTION',
  'UNKNOWN_FORMAT',
  'UNKNOWN_DATABASE_ENGINE',
  'UNKNOWN_TYPE_OF_QUERY',
  'UNKNOWN_ROLE',
]);
const FORBIDDEN = new Set([
  'UNKNOWN_USER',
  'WRONG_PASSWORD',
  'AUTHENTICATION_FAILED',
  'SET_NON_GRANTED_ROLE',
  'ACCESS_DENIED',
]);

/** The HTTP status ClickHouse answers with for an exception name. */
export function statusForErrorName(name: string): number {
  if (name === 'REQUIRED_PASSWORD') return 401;
  if (FORBIDDEN.has(name)) return 403;
  if (BAD_REQUEST.has(name)) return 400;
  if (NOT_FOUND.has(name)) return 404;
  if (name === 'QUERY_IS_TOO_LARGE') return 413;
  if (name === 'NOT_IMPLEMENTED') return 501;
  if (name === 'SOCKET_TIMEOUT' || name === 'CANNOT_OPEN_FILE' || name === 'CANNOT_SCHEDULE_TASK') return 503;
  if (name === 'HTTP_LENGTH_REQUIRED') return 411;
  if (name === 'TIMEOUT_EXCEEDED') return 408;
  if (name === 'UNSUPPORTED_MEDIA_TYPE') return 415;
  return 500;
}

export type ErrorCatalog = { nameOf(code: number): string; version: string };

export type RenderedError = { status: number; code: number; body: string };

/**
 * Normalises anything thrown while serving a query into ClickHouse's wire shape. chDB's messages already
 * start with `Code: N. DB::Exception:` and end with `(NAME)`; only the version suffix is added.
 */
export function renderError(err: unknown, catalog: ErrorCatalog): RenderedError {
  let code: number;
  let text: string;
  let forcedStatus: number | undefined;
  if (err instanceof ClickHouseHttpError) {
    code = err.code;
    forcedStatus = err.status;
    text = `Code: ${code}. DB::Exception: ${err.message}. (${catalog.nameOf(code)})`;
  } else {
    const raw = err instanceof Error ? err.message : String(err);
    const m = /^Code: (\d+)\. /.exec(raw);
    const chCode = (err as { clickhouseCode?: unknown } | null)?.clickhouseCode;
    code = m ? Number(m[1]) : typeof chCode === 'number' ? chCode : 1001; // 1001 = STD_EXCEPTION
    text = m ? raw.trimEnd() : `Code: ${code}. DB::Exception: ${raw.trimEnd()}. (${catalog.nameOf(code)})`;
  }
  if (!/\(version [^)]*\)$/.test(text)) text += ` (version ${catalog.version})`;
  return { status: forcedStatus ?? statusForErrorName(catalog.nameOf(code)), code, body: `${text}\n` };
}
