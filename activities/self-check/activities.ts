import type { ClickHouseClient } from '../../core/warehouse-client.ts';
import type { Pool } from '../../core/db/pool.ts';
import type { SelfCheckActivities, SelfCheckInput } from './types.ts';

export function createSelfCheckActivities(deps: {
  db: Pool;
  warehouse: ClickHouseClient;
}): SelfCheckActivities {
  return {
    async recordSelfCheckInPostgres(input: SelfCheckInput) {
      const result = await deps.db.query(
        `insert into system_self_checks (check_id, started_at, detail) values ($1, $2, $3) on conflict do nothing`,
        [input.checkId, input.requestedAt, { by: 'selfCheck workflow' }],
      );
      const version = await deps.db.query<{ server_version: string }>('show server_version');
      return {
        component: 'postgres',
        inserted: result.rowCount === 1,
        serverVersion: version.rows[0]!.server_version,
      };
    },

    async recordSelfCheckInWarehouse(input: SelfCheckInput) {
      // The check id is the idempotency key: a retry after a lost answer finds the row and adds none.
      const existing = await deps.warehouse.query({
        query: 'select count() as n from onecard.self_checks where check_id = {checkId:String}',
        query_params: { checkId: input.checkId },
        format: 'JSONEachRow',
      });
      const [{ n }] = (await existing.json<{ n: string }>()) as [{ n: string }];
      if (Number(n) === 0) {
        await deps.warehouse.insert({
          table: 'onecard.self_checks',
          values: [
            {
              check_id: input.checkId,
              started_at: input.requestedAt,
              component: 'worker',
              detail: JSON.stringify({ by: 'selfCheck workflow' }),
            },
          ],
          format: 'JSONEachRow',
        });
      }
      const version = await deps.warehouse.query({ query: 'select version() as v', format: 'JSONEachRow' });
      const [{ v }] = (await version.json<{ v: string }>()) as [{ v: string }];
      return { component: 'warehouse', inserted: Number(n) === 0, serverVersion: v };
    },
  };
}
