import type { Pool } from '../db/pool.ts';
import { currentVersion, type Db } from './versions.ts';

/** A terminal further behind than this many versions gets the full list instead of a delta. */
export const deltaVersionsMaxDefault = 1_000;

export interface BlacklistAnswer {
  terminalId: string;
  kind: 'delta' | 'full';
  fromVersion: number;
  version: number;
  /** Cards to refuse; priority entries (freezes) first. */
  add: string[];
  /** Cards to drop (a delta only: a full list replaces what the terminal holds). */
  remove: string[];
}

export class DistributionRefusal extends Error {
  override name = 'DistributionRefusal';
  constructor(
    readonly code: 'version_is_ahead',
    message: string,
  ) {
    super(message);
  }
}

async function ensureTerminal(db: Pick<Pool, 'query'>, terminalId: string): Promise<void> {
  await db.query(
    `insert into blacklist_terminals (terminal_id) values ($1) on conflict (terminal_id) do nothing`,
    [terminalId],
  );
}

/**
 * What a terminal fetches: the changes since the version it names, or the whole list when it names 0 or is
 * more than `deltaVersionsMax` behind. Every answer is logged as a distribution to that terminal.
 */
export async function fetchBlacklist(
  db: Db,
  input: { terminalId: string; since: number; deltaVersionsMax?: number },
): Promise<BlacklistAnswer> {
  const version = await currentVersion(db);
  if (input.since > version)
    throw new DistributionRefusal(
      'version_is_ahead',
      `since ${input.since} is ahead of the newest blacklist version ${version}`,
    );
  const full =
    input.since === 0 || version - input.since > (input.deltaVersionsMax ?? deltaVersionsMaxDefault);
  const answer: BlacklistAnswer = full
    ? {
        terminalId: input.terminalId,
        kind: 'full',
        fromVersion: 0,
        version,
        add: await fullList(db, version),
        remove: [],
      }
    : {
        terminalId: input.terminalId,
        kind: 'delta',
        fromVersion: input.since,
        version,
        ...(await delta(db, input.since, version)),
      };
  await ensureTerminal(db, input.terminalId);
  await db.query(`update blacklist_terminals set last_fetch_at = now() where terminal_id = $1`, [
    input.terminalId,
  ]);
  await db.query(
    `insert into blacklist_distributions (terminal_id, kind, from_version, to_version, entry_count)
     values ($1, $2, $3, $4, $5)`,
    [input.terminalId, answer.kind, answer.fromVersion, version, answer.add.length + answer.remove.length],
  );
  return answer;
}

async function fullList(db: Db, version: number): Promise<string[]> {
  const { rows } = await db.query<{ card_no: string }>(
    `select card_no from blacklist_entries
      where removed_version is null and added_version <= $1 order by priority desc, card_no`,
    [version],
  );
  return rows.map((row) => row.card_no);
}

async function delta(db: Db, since: number, version: number): Promise<{ add: string[]; remove: string[] }> {
  const added = await db.query<{ card_no: string }>(
    `select card_no from blacklist_entries
      where added_version > $1 and added_version <= $2 and (removed_version is null or removed_version > $2)
      order by priority desc, added_version, card_no`,
    [since, version],
  );
  // Listed and taken off again since the terminal's version: it never held the card, so nothing to drop.
  const removed = await db.query<{ card_no: string }>(
    `select card_no from blacklist_entries
      where removed_version > $1 and removed_version <= $2 and added_version <= $1 order by card_no`,
    [since, version],
  );
  return { add: added.rows.map((r) => r.card_no), remove: removed.rows.map((r) => r.card_no) };
}

/** A terminal says it now holds a version; a version older than the one confirmed before changes nothing. */
export async function confirmBlacklist(
  db: Db,
  input: { terminalId: string; version: number },
): Promise<{ terminalId: string; confirmedVersion: number }> {
  const version = await currentVersion(db);
  if (input.version > version)
    throw new DistributionRefusal(
      'version_is_ahead',
      `version ${input.version} is ahead of the newest blacklist version ${version}`,
    );
  await ensureTerminal(db, input.terminalId);
  const { rows } = await db.query<{ confirmed_version: bigint }>(
    `update blacklist_terminals
        set confirmed_version = greatest(confirmed_version, $2), confirmed_at = now(), alerted_at = null
      where terminal_id = $1 returning confirmed_version`,
    [input.terminalId, input.version],
  );
  await db.query(
    `insert into blacklist_distributions (terminal_id, kind, to_version) values ($1, 'confirmation', $2)`,
    [input.terminalId, input.version],
  );
  return { terminalId: input.terminalId, confirmedVersion: Number(rows[0]!.confirmed_version) };
}

/**
 * A priority push after a freeze: logged to every known terminal at once, so each one's log shows when it
 * was told (the terminals' wire protocol, a later issue, delivers it; until then they fetch it first).
 */
export async function logPriorityPush(db: Db, input: { version: number }): Promise<{ terminals: number }> {
  const { rowCount } = await db.query(
    `insert into blacklist_distributions (terminal_id, kind, to_version, entry_count)
     select terminal_id, 'priority', $1, 1 from blacklist_terminals`,
    [input.version],
  );
  return { terminals: rowCount ?? 0 };
}

/**
 * The alert: terminals holding a change older than the allowed time that they have not confirmed (the
 * clock runs from the change, not from their last visit), not alerted yet. Each alert is logged once.
 */
export async function alertSilentTerminals(
  db: Db,
  input: { confirmWithinMs: number; now: Date; terminalIdPrefix?: string; limit?: number },
): Promise<Array<{ terminalId: string; confirmedVersion: number; version: number }>> {
  const version = await currentVersion(db);
  const { rows } = await db.query<{ terminal_id: string; confirmed_version: bigint }>(
    `update blacklist_terminals t set alerted_at = $2
      where t.terminal_id in (
        select terminal_id from blacklist_terminals
         where confirmed_version < $1 and alerted_at is null and starts_with(terminal_id, $5)
           and (exists (select 1 from blacklist_entries e where e.added_version > confirmed_version and e.listed_at < $2::timestamptz - make_interval(secs => $3::float8 / 1000))
                or exists (select 1 from blacklist_entries e where e.removed_version > confirmed_version and e.removed_at < $2::timestamptz - make_interval(secs => $3::float8 / 1000)))
         order by terminal_id limit $4)
      returning t.terminal_id, t.confirmed_version`,
    [
      version,
      input.now.toISOString(),
      input.confirmWithinMs,
      input.limit ?? 10_000,
      input.terminalIdPrefix ?? '',
    ],
  );
  for (const row of rows)
    await db.query(
      `insert into blacklist_distributions (terminal_id, kind, from_version, to_version) values ($1, 'alert', $2, $3)`,
      [row.terminal_id, Number(row.confirmed_version), version],
    );
  return rows.map((row) => ({
    terminalId: row.terminal_id,
    confirmedVersion: Number(row.confirmed_version),
    version,
  }));
}
