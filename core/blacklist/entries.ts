import { blacklistCapacityMax, currentVersion, inBlacklistWrite, nextVersion, type Db } from './versions.ts';

export class BlacklistRefusal extends Error {
  override name = 'BlacklistRefusal';
  constructor(
    readonly code: 'blacklist_is_full' | 'batch_already_exists',
    message: string,
  ) {
    super(message);
  }
}

async function refuseOverCapacity(client: Pick<Db, 'query'>, adding: number): Promise<void> {
  const { rows } = await client.query<{ n: number }>(
    `select count(*)::int as n from blacklist_entries where removed_version is null`,
  );
  if (rows[0]!.n + adding > blacklistCapacityMax)
    throw new BlacklistRefusal(
      'blacklist_is_full',
      `the blacklist holds ${rows[0]!.n} cards; ${adding} more would pass ${blacklistCapacityMax}`,
    );
}

/**
 * Lists one card (a scattered entry). A card already listed and not removed keeps its version (a repeat
 * is a no-op that answers with it); a priority listing of a card listed without priority is re-listed.
 */
export async function listCard(
  db: Db,
  entry: { cardNo: string; reason: string; priority: boolean },
): Promise<{ version: number; listed: boolean }> {
  return inBlacklistWrite(db, async (client) => {
    const { rows } = await client.query<{ added_version: bigint; priority: boolean }>(
      `select added_version, priority from blacklist_entries where card_no = $1 and removed_version is null`,
      [entry.cardNo],
    );
    if (rows[0] && (rows[0].priority || !entry.priority))
      return { version: Number(rows[0].added_version), listed: false };
    if (!rows[0]) await refuseOverCapacity(client, 1);
    const version = await nextVersion(client);
    await client.query(
      `insert into blacklist_entries (card_no, level, reason, priority, added_version)
       values ($1, 'scattered', $2, $3, $4)
       on conflict (card_no) do update set level = 'scattered', batch_id = null, reason = excluded.reason,
         priority = excluded.priority, added_version = excluded.added_version, removed_version = null,
         removed_reason = null, listed_at = now(), removed_at = null`,
      [entry.cardNo, entry.reason, entry.priority, version],
    );
    return { version, listed: true };
  });
}

/** Takes one card off (解挂); a card not listed is a no-op answering with the current version. */
export async function unlistCard(
  db: Db,
  input: { cardNo: string; reason: string },
): Promise<{ version: number; unlisted: boolean }> {
  return inBlacklistWrite(db, async (client) => {
    const listed = await client.query(
      `select 1 from blacklist_entries where card_no = $1 and removed_version is null`,
      [input.cardNo],
    );
    if (listed.rows.length === 0) return { version: await currentVersion(client), unlisted: false };
    const version = await nextVersion(client);
    await client.query(
      `update blacklist_entries set removed_version = $2, removed_reason = $3, removed_at = now()
        where card_no = $1`,
      [input.cardNo, version, input.reason],
    );
    return { version, unlisted: true };
  });
}

/**
 * A batch list: many cards under one version, inserted set-based from the array. Cards already listed
 * keep their entry. Refused past the capacity.
 */
export async function listBatch(
  db: Db,
  batch: { batchId: string; reason: string; cardNos: string[] },
): Promise<{ version: number; listed: number }> {
  return inBlacklistWrite(db, async (client) => {
    const inserted = await client.query(
      `insert into blacklist_batches (batch_id, reason) values ($1, $2) on conflict do nothing`,
      [batch.batchId, batch.reason],
    );
    if (inserted.rowCount === 0)
      throw new BlacklistRefusal('batch_already_exists', `batch ${batch.batchId} was already listed`);
    await refuseOverCapacity(client, batch.cardNos.length);
    const version = await nextVersion(client);
    const { rowCount } = await client.query(
      `insert into blacklist_entries (card_no, level, batch_id, reason, added_version)
       select card_no, 'batch', $2, $3, $4 from unnest($1::text[]) as card_no
       on conflict (card_no) do update set level = 'batch', batch_id = excluded.batch_id,
         reason = excluded.reason, priority = false, added_version = excluded.added_version,
         removed_version = null, removed_reason = null, listed_at = now(), removed_at = null
         where blacklist_entries.removed_version is not null`,
      [batch.cardNos, batch.batchId, batch.reason, version],
    );
    return { version, listed: rowCount ?? 0 };
  });
}

/**
 * Entries that can no longer matter are taken off (with a version, so terminals drop them too): a card
 * cancelled longer ago than the offline window (no offline record of it can still arrive) and a card past
 * its expiry date (terminals refuse it anyway).
 */
export async function pruneBlacklist(
  db: Db,
  options: { offlineWindowMs: number; now: Date; limit?: number },
): Promise<{ version: number | null; pruned: number }> {
  return inBlacklistWrite(db, async (client) => {
    const version = await nextVersion(client);
    const { rowCount } = await client.query(
      `with gone as (
         select e.card_no,
                case when c.status = 'cancelled' then 'cancelled_past_offline_window' else 'card_expired' end as why
           from blacklist_entries e join cards c using (card_no)
          where e.removed_version is null
            and ((c.status = 'cancelled' and coalesce(c.status_changed_at, e.listed_at) < $2::timestamptz - make_interval(secs => $3::float8 / 1000))
                 or c.expires_on < ($2::timestamptz)::date)
          order by e.card_no limit $4)
       update blacklist_entries e set removed_version = $1, removed_reason = gone.why, removed_at = now()
         from gone where e.card_no = gone.card_no`,
      [version, options.now.toISOString(), options.offlineWindowMs, options.limit ?? 50_000],
    );
    // An unused version number is harmless: versions only need to grow.
    return { version: rowCount ? version : null, pruned: rowCount ?? 0 };
  });
}
