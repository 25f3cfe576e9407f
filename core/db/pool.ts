import pg from 'pg';

// bigint (int8) comes back as a string by default; fen amounts and counters are bigint and must stay exact.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => BigInt(value));

export type Pool = pg.Pool;

export function createPool(
  databaseUrl: string,
  options: { max?: number; application?: string } = {},
): pg.Pool {
  return new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? 20,
    application_name: options.application ?? 'onecard',
    connectionTimeoutMillis: 5_000,
  });
}
