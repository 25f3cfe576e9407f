import pg from 'pg';

// bigint (int8) comes back as a string by default; fen amounts and counters are bigint and must stay exact.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => BigInt(value));

export type Pool = pg.Pool;

/**
 * The URL with the settings added to its `options` parameter (libpq's `-c name=value` list), after any it
 * has already: pg takes `options` from the URL over its config, so an operator's URL keeps its own settings
 * and ours still apply. Names and values are plain words, so nothing needs quoting.
 */
function withSettings(databaseUrl: string, settings: Record<string, string>): string {
  const url = new URL(databaseUrl);
  const ours = Object.entries(settings).map(([name, value]) => {
    if (!/^[A-Za-z0-9_.]+$/.test(name) || !/^[A-Za-z0-9_.-]+$/.test(value))
      throw new Error(`the database setting ${name}=${value} is not a plain name and value`);
    return `-c ${name}=${value}`;
  });
  url.searchParams.set('options', [url.searchParams.get('options'), ...ours].filter(Boolean).join(' '));
  return url.toString();
}

export function createPool(
  databaseUrl: string,
  options: {
    max?: number;
    application?: string;
    pipeline?: boolean;
    /** Server settings of every connection of the pool, given when it connects. */
    settings?: Record<string, string>;
  } = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.settings ? withSettings(databaseUrl, options.settings) : databaseUrl,
    max: options.max ?? 20,
    application_name: options.application ?? 'onecard',
    connectionTimeoutMillis: 5_000,
    // pg's pipeline mode: queries given to a client before the previous one is answered go on the wire at
    // once. Only for code written for it (withPipelinedLedgerTransaction); cursors are refused there.
    pipeline: options.pipeline ?? false,
  });
  // An idle connection the server closes (a restart, a failover, a stop at the end of a run) is dropped by
  // the pool and replaced on the next query; without a listener Node would end the whole process for it.
  pool.on('error', (error) => {
    process.stderr.write(
      `PostgreSQL closed an idle connection of ${options.application ?? 'onecard'}: ${error.message}\n`,
    );
  });
  return pool;
}
