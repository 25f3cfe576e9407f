import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { tokens } from '../server/sql-scan.ts';

/**
 * The warehouse's raw tables, as SQL files in this folder applied in name order. Every statement is
 * idempotent (IF NOT EXISTS), so this runs at every start, against the embedded warehouse or a real
 * ClickHouse server alike. Tables built by dbt are not here: dbt owns those.
 */
export const schemaDir = path.dirname(fileURLToPath(import.meta.url));

/** Splits a SQL file on top-level `;`, ignoring those inside comments and literals. */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let depth = 0;
  for (const t of tokens(sql)) {
    if (t.kind !== 'punct') continue;
    if (t.text === '(') depth++;
    else if (t.text === ')') depth--;
    else if (t.text === ';' && depth === 0) {
      out.push(sql.slice(start, t.start));
      start = t.end;
    }
  }
  out.push(sql.slice(start));
  return out.filter((s) => [...tokens(s)].length > 0).map((s) => s.trim());
}

export function schemaStatements(dir = schemaDir): Array<{ file: string; sql: string }> {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .flatMap((file) =>
      splitStatements(fs.readFileSync(path.join(dir, file), 'utf8')).map((sql) => ({ file, sql })),
    );
}

export async function applyWarehouseSchema(client: ClickHouseClient): Promise<{ applied: number }> {
  const statements = schemaStatements();
  for (const { file, sql } of statements) {
    try {
      await client.command({ query: sql });
    } catch (err) {
      throw new Error(`warehouse schema ${file}: ${(err as Error).message}`, { cause: err });
    }
  }
  return { applied: statements.length };
}
