import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ClickHouseHttpError, Codes } from './errors.ts';

/**
 * The warehouse's users, as a ClickHouse users.xml would declare them:
 *  - `onecard`: the platform's own processes, read-write;
 *  - `analyst`: people with BI tools, `readonly = 1` (enforced by the engine per connection);
 *  - `default`: no password, read-only, and only when explicitly allowed (embedded demo on loopback).
 * Credentials are read the three ways ClickHouse accepts them: HTTP Basic, X-ClickHouse-User/-Key headers,
 * `user`/`password` URL parameters. Mixing them is refused, as ClickHouse does.
 */

export type WarehouseUsers = {
  systemPassword: string;
  analystPassword: string;
  allowAnonymousReadonly: boolean;
};

export type Principal = { user: 'onecard' | 'analyst' | 'default'; readonly: boolean };

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Compares two secrets in constant time (both sides hashed first so lengths never leak). */
export function secretsEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

type Credentials = { user: string; password: string; given: boolean };

export function readCredentials(headers: IncomingHttpHeaders, params: URLSearchParams): Credentials {
  const auth = headers.authorization;
  const hUser = headers['x-clickhouse-user'];
  const hKey = headers['x-clickhouse-key'];
  const pUser = params.get('user');
  const pPassword = params.get('password');
  const methods = [
    auth !== undefined,
    hUser !== undefined || hKey !== undefined,
    pUser !== null || pPassword !== null,
  ];
  if (methods.filter(Boolean).length > 1) {
    throw new ClickHouseHttpError(
      Codes.AUTHENTICATION_FAILED,
      'Invalid authentication: it is not allowed to use more than one authentication method (Authorization header, X-ClickHouse-User/X-ClickHouse-Key headers, user/password parameters) at the same time',
      403,
    );
  }
  if (auth !== undefined) {
    const m = /^Basic\s+(.+)$/i.exec(auth.trim());
    if (!m)
      throw new ClickHouseHttpError(
        Codes.AUTHENTICATION_FAILED,
        'Invalid authentication: only Basic HTTP authentication is supported',
        403,
      );
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0
      ? { user: decoded, password: '', given: true }
      : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1), given: true };
  }
  if (methods[1]) {
    return { user: String(hUser ?? 'default'), password: String(hKey ?? ''), given: true };
  }
  if (methods[2]) return { user: pUser ?? 'default', password: pPassword ?? '', given: true };
  return { user: 'default', password: '', given: false };
}

/**
 * Resolves the principal or throws ClickHouse's AUTHENTICATION_FAILED (516). Every branch does one
 * constant-time comparison so the time taken does not tell which user names exist.
 */
export function authenticate(creds: Credentials, users: WarehouseUsers): Principal {
  const fail = () => {
    const err = new ClickHouseHttpError(
      Codes.AUTHENTICATION_FAILED,
      `${creds.user}: Authentication failed: password is incorrect, or there is no user with such name`,
      creds.given ? 403 : 401,
    );
    return err;
  };
  const table: Record<string, { password: string; enabled: boolean; principal: Principal }> = {
    onecard: {
      password: users.systemPassword,
      enabled: users.systemPassword !== '',
      principal: { user: 'onecard', readonly: false },
    },
    analyst: {
      password: users.analystPassword,
      enabled: users.analystPassword !== '',
      principal: { user: 'analyst', readonly: true },
    },
    default: {
      password: '',
      enabled: users.allowAnonymousReadonly,
      principal: { user: 'default', readonly: true },
    },
  };
  const entry = Object.hasOwn(table, creds.user) ? table[creds.user] : undefined;
  const ok = secretsEqual(creds.password, entry?.password ?? '\u0000unknown-user');
  if (!entry || !entry.enabled || !ok) throw fail();
  return entry.principal;
}
