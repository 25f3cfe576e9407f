import type { Pool } from '../../db/pool.ts';

// What the offline upload leaves for 补卡 (core/cards/replacement.ts): when each terminal was last collected
// from, and which uploaded records belong to a card whose balance already went to its replacement.

/** The collection service took everything a terminal held (an upload, or a check-in with nothing to send). */
export async function recordCollection(
  client: Pick<Pool, 'query'>,
  terminalId: string,
  uploadId: string | null,
): Promise<void> {
  await client.query(
    `insert into terminal_collections (terminal_id, collected_at, last_upload_id) values ($1, now(), $2)
     on conflict (terminal_id) do update set collected_at = excluded.collected_at,
       last_upload_id = coalesce(excluded.last_upload_id, terminal_collections.last_upload_id)`,
    [terminalId, uploadId],
  );
}

/** Replaced cards among these whose balance already went to their new card, by old card number. */
export async function transferredReplacements(
  client: Pick<Pool, 'query'>,
  cardNos: string[],
): Promise<Map<string, string>> {
  if (cardNos.length === 0) return new Map();
  const { rows } = await client.query<{ old_card_no: string; new_card_no: string }>(
    `select old_card_no, new_card_no from card_replacements where old_card_no = any($1::text[]) and state = 'transferred'`,
    [cardNos],
  );
  return new Map(rows.map((r) => [r.old_card_no, r.new_card_no]));
}
