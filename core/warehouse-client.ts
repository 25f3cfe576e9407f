import { createClient, type ClickHouseClient } from '@clickhouse/client';

export type { ClickHouseClient };

/**
 * The warehouse speaks plain ClickHouse HTTP, embedded (chDB behind warehouse/server) or a real server:
 * CLICKHOUSE_URL is the whole switch. Credentials may ride in the URL; they are moved into the client's
 * own fields so they never appear in a logged URL.
 */
export function createWarehouseClient(
  clickhouseUrl: string,
  options: { application?: string } = {},
): ClickHouseClient {
  const url = new URL(clickhouseUrl);
  const username = decodeURIComponent(url.username) || 'default';
  const password = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  return createClient({
    url: url.toString(),
    username,
    password,
    application: options.application ?? 'onecard',
    request_timeout: 60_000,
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  });
}
