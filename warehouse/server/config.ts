import { varPath } from '../../core/paths.ts';
import type { WarehouseUsers } from './auth.ts';

/** The warehouse process's environment, validated. Every message names the variable to fix. */
export type WarehouseConfig = {
  dataDir: string;
  host: string;
  port: number;
  users: WarehouseUsers;
  maxBodyBytes: number | undefined;
};

export class ConfigError extends Error {}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const v = (env[name] ?? '').trim().toLowerCase();
  if (v === '' || v === '0' || v === 'false' || v === 'no') return false;
  if (v === '1' || v === 'true' || v === 'yes') return true;
  throw new ConfigError(`${name} must be 1 or 0 (got ${JSON.stringify(env[name])})`);
}

export function readWarehouseConfig(env: NodeJS.ProcessEnv = process.env): WarehouseConfig {
  const problems: string[] = [];
  const portText = env.WAREHOUSE_PORT?.trim() || '8123';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535)
    problems.push(
      `WAREHOUSE_PORT must be a TCP port number 0-65535 (got ${JSON.stringify(env.WAREHOUSE_PORT)})`,
    );
  const host = env.WAREHOUSE_HOST?.trim() || '127.0.0.1';
  const systemPassword = env.WAREHOUSE_SYSTEM_PASSWORD ?? '';
  if (systemPassword === '')
    problems.push('WAREHOUSE_SYSTEM_PASSWORD must be set (the password of the read-write user "onecard")');
  const analystPassword = env.WAREHOUSE_ANALYST_PASSWORD ?? '';
  let allowAnonymousReadonly = false;
  try {
    allowAnonymousReadonly = flag(env, 'WAREHOUSE_ALLOW_ANONYMOUS_READONLY');
  } catch (e) {
    problems.push((e as Error).message);
  }
  let maxBodyBytes: number | undefined;
  if (env.WAREHOUSE_MAX_BODY_BYTES) {
    maxBodyBytes = Number(env.WAREHOUSE_MAX_BODY_BYTES);
    if (!Number.isInteger(maxBodyBytes) || maxBodyBytes <= 0)
      problems.push(
        `WAREHOUSE_MAX_BODY_BYTES must be a positive integer (got ${JSON.stringify(env.WAREHOUSE_MAX_BODY_BYTES)})`,
      );
  }
  if (problems.length)
    throw new ConfigError(`invalid warehouse configuration:\n  - ${problems.join('\n  - ')}`);
  return {
    dataDir: env.WAREHOUSE_DATA_DIR?.trim() || varPath('warehouse'),
    host,
    port,
    users: { systemPassword, analystPassword, allowAnonymousReadonly },
    maxBodyBytes,
  };
}
