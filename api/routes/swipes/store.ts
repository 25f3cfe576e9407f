import type { Pool } from '../../../core/db/pool.ts';

/**
 * The book of record for non-money swipes (gates, dorms, class attendance, buses, access control).
 * A terminal uploads its records in batches; terminal id + record sequence number is the idempotency key.
 * Each new swipe and its outbox event are written by one statement, so the warehouse gets every swipe
 * exactly once whatever happens between PostgreSQL and the relay.
 */

export const swipeLimits = { recordsPerUploadMax: 5_000, clockSkewMsMax: 24 * 60 * 60 * 1000 } as const;

/** Which swipe kinds each terminal kind records. */
export const kindsByTerminal: Record<string, readonly string[]> = {
  gate: ['gate_in', 'gate_out'],
  dorm: ['dorm_in', 'dorm_out'],
  attendance: ['class'],
  bus: ['bus_on', 'bus_off'],
  access: ['access'],
};

export interface SwipeRecord {
  terminalSeq: number;
  cardNo: string;
  kind: string;
  at: string;
}

export type SwipeUploadOutcome =
  | { outcome: 'ok'; stored: number; duplicates: number }
  | {
      outcome:
        'unknown_terminal' | 'terminal_is_disabled' | 'invalid_record' | 'exists_with_different_content';
      message: string;
    };

/** Checks what a schema cannot: the terminal, kinds that fit it, times, sequence numbers unique in the upload. */
async function refuse(
  db: Pool,
  terminalId: string,
  records: readonly SwipeRecord[],
  now: Date,
): Promise<Exclude<SwipeUploadOutcome, { outcome: 'ok' }> | undefined> {
  const { rows } = await db.query<{ kind: string; status: string }>(
    `select kind, status from terminals where terminal_id = $1`,
    [terminalId],
  );
  const terminal = rows[0];
  if (!terminal)
    return { outcome: 'unknown_terminal', message: `body/terminalId ${terminalId} is not a known terminal` };
  if (terminal.status !== 'active')
    return { outcome: 'terminal_is_disabled', message: `body/terminalId ${terminalId} is disabled` };
  const allowed = kindsByTerminal[terminal.kind] ?? [];
  const seen = new Set<number>();
  for (const [i, r] of records.entries()) {
    if (!allowed.includes(r.kind))
      return {
        outcome: 'invalid_record',
        message: `body/records/${i}/kind ${r.kind} is not recorded by a ${terminal.kind} terminal (${allowed.join(', ') || 'no swipes'})`,
      };
    const at = Date.parse(r.at);
    if (!(at > Date.UTC(2000, 0, 1)) || at > now.getTime() + swipeLimits.clockSkewMsMax)
      return {
        outcome: 'invalid_record',
        message: `body/records/${i}/at ${r.at} is before 2000 or in the future`,
      };
    if (seen.has(r.terminalSeq))
      return {
        outcome: 'invalid_record',
        message: `body/records/${i}/terminalSeq ${r.terminalSeq} appears twice in this upload`,
      };
    seen.add(r.terminalSeq);
  }
  return undefined;
}

export async function recordSwipes(
  db: Pool,
  terminalId: string,
  records: readonly SwipeRecord[],
  now = new Date(),
): Promise<SwipeUploadOutcome> {
  const refusal = await refuse(db, terminalId, records, now);
  if (refusal) return refusal;
  const client = await db.connect();
  try {
    await client.query('begin');
    const { rows: inserted } = await client.query<{ terminal_seq: bigint }>(
      `with input as (
         select * from unnest($2::bigint[], $3::text[], $4::text[], $5::timestamptz[]) as r(terminal_seq, card_no, kind, swiped_at)
       ), inserted as (
         insert into swipes (terminal_id, terminal_seq, card_no, kind, swiped_at)
         select $1, terminal_seq, card_no, kind, swiped_at from input
         on conflict do nothing
         returning terminal_seq, card_no, kind, swiped_at, received_at
       ), events as (
         insert into outbox (topic, aggregate_key, payload)
         select 'swipe.recorded', $1,
                json_build_object('terminalId', $1::text, 'terminalSeq', i.terminal_seq, 'cardNo', i.card_no, 'kind', i.kind,
                                  'swipedAt', i.swiped_at, 'receivedAt', i.received_at,
                                  'schoolId', (select school_id from terminals where terminal_id = $1),
                                  'cardholderId', c.cardholder_id::text)
           from inserted i left join cards c on c.card_no = i.card_no
       )
       select terminal_seq from inserted`,
      [
        terminalId,
        records.map((r) => r.terminalSeq),
        records.map((r) => r.cardNo),
        records.map((r) => r.kind),
        records.map((r) => r.at),
      ],
    );
    const stored = new Set(inserted.map((r) => Number(r.terminal_seq)));
    const repeats = records.filter((r) => !stored.has(r.terminalSeq));
    if (repeats.length > 0) {
      const { rows: differing } = await client.query<{ terminal_seq: bigint }>(
        `select s.terminal_seq from swipes s
           join unnest($2::bigint[], $3::text[], $4::text[], $5::timestamptz[]) as r(terminal_seq, card_no, kind, swiped_at)
             on s.terminal_id = $1 and s.terminal_seq = r.terminal_seq
          where (s.card_no, s.kind, s.swiped_at) is distinct from (r.card_no, r.kind, r.swiped_at)
          order by s.terminal_seq limit 10`,
        [
          terminalId,
          repeats.map((r) => r.terminalSeq),
          repeats.map((r) => r.cardNo),
          repeats.map((r) => r.kind),
          repeats.map((r) => r.at),
        ],
      );
      if (differing.length > 0) {
        await client.query('rollback');
        return {
          outcome: 'exists_with_different_content',
          message: `terminal ${terminalId} already sent sequence ${differing.map((r) => r.terminal_seq).join(', ')} with different content; nothing was stored`,
        };
      }
    }
    await client.query('commit');
    return { outcome: 'ok', stored: stored.size, duplicates: repeats.length };
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export const swipeRetentionLimits = { batchMax: 5_000, batchesMax: 20, ageSMin: 30 * 24 * 60 * 60 } as const;

/**
 * Retention: deletes swipes that arrived more than `ageS` ago (at least 30 days, well beyond what a
 * terminal holds offline), oldest ranges first, at most batchesMax batches of batchMax rows per call. Their
 * outbox events are the relay's and the warehouse's; only the duplicate check forgets them.
 */
export async function pruneSwipes(
  db: Pool,
  options: { ageS: number; batchMax?: number; batchesMax?: number },
): Promise<{ deleted: number; batches: number }> {
  if (!(options.ageS >= swipeRetentionLimits.ageSMin))
    throw new Error(
      `swipe retention must be at least ${swipeRetentionLimits.ageSMin} s, got ${options.ageS}`,
    );
  const batchMax = Math.min(options.batchMax ?? swipeRetentionLimits.batchMax, swipeRetentionLimits.batchMax);
  const batchesMax = Math.min(
    options.batchesMax ?? swipeRetentionLimits.batchesMax,
    swipeRetentionLimits.batchesMax,
  );
  let deleted = 0;
  let batches = 0;
  while (batches < batchesMax) {
    batches++;
    const { rowCount } = await db.query(
      `delete from swipes where ctid = any(array(
         select ctid from swipes where received_at < now() - make_interval(secs => $1) limit $2))`,
      [options.ageS, batchMax],
    );
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < batchMax) break;
  }
  return { deleted, batches };
}
