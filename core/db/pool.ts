import pg from 'pg';

// bigint (int8) comes back as a string by default; fen amounts and counters are bigint and must stay exact.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => BigInt(value));

export type Pool = pg.Pool;

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
    connectionString: databaseUrl,
    max: options.max ?? 20,
    application_name: options.application ?? 'onecard',
    ...(options.settings && {
      options: Object.entries(options.settings)
        .map(([name, value]) => `-c ${name}=${value}`)
        .join(' '),
    }),
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
