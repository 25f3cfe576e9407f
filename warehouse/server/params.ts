/**
 * URL parameters of the ClickHouse HTTP interface: the HTTP-level ones (query, database, default_format,
 * query_id, session_*, user/password, param_<name>), and everything else, which ClickHouse treats as a
 * setting for this query. Settings are checked against the engine's own `system.settings` list (loaded once at
 * start-up) and handed to the engine when the request's connection is made, never spliced into SQL text.
 * Unknown names are ignored (logged) rather than failing the request.
 */

/** HTTP-level parameters that are not engine settings. */
const HTTP_ONLY = new Set([
  'query',
  'database',
  'default_format',
  'query_id',
  'session_id',
  'session_timeout',
  'session_check',
  'user',
  'password',
  'quota_key',
  'compress',
  'decompress',
  'buffer_size',
  'wait_end_of_query',
  'stacktrace',
  'role',
  'client_protocol_version',
  'with_stacktrace',
  'close_session',
]);

/** Settings that only shape the HTTP exchange; the server handles them, the engine does not need them. */
const HTTP_SETTINGS = new Set([
  'enable_http_compression',
  'http_zlib_compression_level',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'http_response_buffer_size',
  'http_wait_end_of_query',
  'add_http_cors_header',
  'http_native_compression_disable_checksumming_on_decompress',
  'output_format_json_content_type_header',
  'cancel_http_readonly_queries_on_client_close',
  'http_write_exception_in_output_format',
  'http_response_headers',
]);

export type ParsedParams = {
  query: string | null;
  database: string | undefined;
  defaultFormat: string | undefined;
  queryId: string | undefined;
  sessionId: string | undefined;
  sessionTimeoutS: number | undefined;
  sessionCheck: boolean;
  /** `param_<name>` values, verbatim (ClickHouse's escaped text form; the engine parses them as the declared type). */
  queryParams: Record<string, string>;
  /** Engine settings to apply to this request's connection. */
  settings: Record<string, string>;
  /** `readonly` asked for in the URL (0, 1 or 2), if any. */
  readonlyParam: number | undefined;
  enableHttpCompression: boolean;
  ignored: string[];
};

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseParams(url: URL, settingNames: ReadonlySet<string>): ParsedParams {
  const p = url.searchParams;
  const out: ParsedParams = {
    query: p.get('query'),
    database: p.get('database') || undefined,
    defaultFormat: p.get('default_format') || undefined,
    queryId: p.get('query_id') || undefined,
    sessionId: p.get('session_id') || undefined,
    sessionTimeoutS: p.has('session_timeout') ? Number(p.get('session_timeout')) : undefined,
    sessionCheck: p.get('session_check') === '1',
    queryParams: {},
    settings: {},
    readonlyParam: undefined,
    enableHttpCompression:
      p.get('enable_http_compression') === '1' || p.get('enable_http_compression') === 'true',
    ignored: [],
  };
  for (const [name, value] of p) {
    if (name.startsWith('param_')) {
      out.queryParams[name.slice('param_'.length)] = value;
      continue;
    }
    if (HTTP_ONLY.has(name) || HTTP_SETTINGS.has(name)) continue;
    if (name === 'readonly') {
      const n = Number(value);
      out.readonlyParam = n === 1 || n === 2 ? n : 0;
      continue;
    }
    if (
      SETTING_NAME.test(name) &&
      settingNames.has(name) &&
      !value.includes('\u0000') &&
      value.length < 4096
    ) {
      out.settings[name] = value;
    } else {
      out.ignored.push(name);
    }
  }
  if (out.sessionTimeoutS !== undefined && !(out.sessionTimeoutS > 0)) out.sessionTimeoutS = undefined;
  return out;
}

/**
 * The effective `readonly` level: 1 for read-only users whatever the URL says; otherwise the URL's value,
 * and at least 2 for GET requests, as ClickHouse does (GET may read and change settings, never write).
 */
export function effectiveReadonly(
  userReadonly: boolean,
  method: string,
  param: number | undefined,
): 0 | 1 | 2 {
  if (userReadonly || param === 1) return 1;
  if (param === 2 || method === 'GET' || method === 'HEAD') return 2;
  return 0;
}
