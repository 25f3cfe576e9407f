import type { Pool } from '../db/pool.ts';
import { OfficeRefusal } from '../keys/refusal.ts';
import { assertLedger } from '../ledger/assert.ts';
import { freezeStep, lockCardRow, replaceStep } from './lifecycle.ts';
import { runOfficeCommand, type OfficeAnswer, type OfficeContext } from './office-command.ts';

/** Terminals still listed as silent are capped, so a district-wide outage cannot blow up a workflow's state. */
export const silentTerminalsListedMax = 200;

export interface ReplacementStart {
  cardNo: string;
  workflowId: string;
  requestKey: string;
  operatorId: string;
  reason: string;
}

/**
 * 补卡, first step: the old card is frozen (unless a loss report froze it already) and the replacement
 * recorded with the moment of the freeze, from which the wait for offline records counts.
 */
export async function beginReplacement(db: Pool, input: ReplacementStart): Promise<OfficeAnswer> {
  return runOfficeCommand(db, {
    requestKey: input.requestKey,
    kind: 'replacement_begin',
    operatorId: input.operatorId,
    content: { cardNo: input.cardNo, workflowId: input.workflowId, reason: input.reason },
    run: async (ctx) => {
      const card = await lockCardRow(ctx.client, input.cardNo);
      if (card.card_kind !== 'user')
        throw new OfficeRefusal(
          'invalid_input',
          `card ${input.cardNo} is a ${card.card_kind} card; issue a new one instead`,
        );
      const alreadyFrozen = card.status === 'frozen';
      if (!alreadyFrozen) await freezeStep(ctx, input.cardNo, `补卡: ${input.reason}`);
      const { rows } = await ctx.client.query<{ frozen_at: Date }>(
        `insert into card_replacements (old_card_no, workflow_id, cardholder_id, state, frozen_at)
         select card_no, $2, cardholder_id, 'waiting_offline', coalesce(status_changed_at, now())
           from cards where card_no = $1
         on conflict (old_card_no) do update set workflow_id = card_replacements.workflow_id
         returning frozen_at`,
        [input.cardNo, input.workflowId],
      );
      return { cardNo: input.cardNo, alreadyFrozen, frozenAt: rows[0]!.frozen_at.toISOString() };
    },
  });
}

/**
 * The terminals that may still hold offline records of the card from before `since` and have not been
 * collected from since: the active payment terminals of the holder's school, and any terminal elsewhere
 * that has uploaded a record of this card before (its purse counters name it).
 */
export async function silentTerminals(db: Pool, cardNo: string, since: Date): Promise<string[]> {
  const { rows } = await db.query<{ terminal_id: string }>(
    `with card as (
       select c.card_no, h.school_id from cards c join cardholders h using (cardholder_id) where c.card_no = $1
     ), used as (
       select distinct split_part(p.record_key, ':', 2) as terminal_id
         from card_purse_counters p where p.card_no = $1
     )
     select t.terminal_id from terminals t
      where t.status = 'active' and t.kind in ('pos', 'kiosk')
        and (t.school_id = (select school_id from card) or t.terminal_id in (select terminal_id from used))
        and not exists (select 1 from terminal_collections k where k.terminal_id = t.terminal_id and k.collected_at >= $2)
      order by t.terminal_id
      limit $3`,
    [cardNo, since, silentTerminalsListedMax],
  );
  return rows.map((r) => r.terminal_id);
}

export interface WalletBalances {
  mainFen: bigint;
  subsidyFen: bigint;
  depositFen: bigint;
}

/**
 * The holder's balances as the postings make them, checked against the stored balances: the hand-over
 * is the moment a difference would be carried to a new card, so it must be none.
 */
async function balancesFromPostings(ctx: OfficeContext, cardholderId: bigint): Promise<WalletBalances> {
  const { rows } = await ctx.client.query<{ wallet_kind: string; stored: bigint; recomputed: bigint }>(
    `select a.wallet_kind, a.balance_fen as stored,
            a.normal_sign * coalesce((select sum(p.amount_fen) from ledger_postings p where p.account_id = a.account_id), 0) as recomputed
       from accounts a where a.cardholder_id = $1
      order by a.account_id for update of a`,
    [cardholderId.toString()],
  );
  const balances: WalletBalances = { mainFen: 0n, subsidyFen: 0n, depositFen: 0n };
  for (const row of rows) {
    assertLedger(
      BigInt(row.stored) === BigInt(row.recomputed),
      `wallet ${row.wallet_kind} of cardholder ${cardholderId} stores ${row.stored} fen but its postings make ${row.recomputed}`,
    );
    const key = `${row.wallet_kind}Fen` as keyof WalletBalances;
    balances[key] = BigInt(row.recomputed);
  }
  return balances;
}

/**
 * 补卡, last step, in one database transaction: the old card cancelled as replaced, the new card issued to
 * the same holder (its PIN and the parent's binding carried over), and the final balances, recomputed from the postings,
 * handed to it with the replacement record. The wallets are the holder's accounts and the card is their key,
 * so nothing is posted: from this commit on, every fen the old card had is spent through the new one.
 * The new card has no chip yet: the card office writes one when the holder collects it (issueOnReader
 * with collectsCardNo).
 */
export async function transferToNewCard(
  db: Pool,
  input: {
    cardNo: string;
    requestKey: string;
    operatorId: string;
    reason: string;
    waitEnded: 'all_collected' | 'window_passed';
    silentTerminals: string[];
  },
): Promise<OfficeAnswer> {
  return runOfficeCommand(db, {
    requestKey: input.requestKey,
    kind: 'replacement_transfer',
    operatorId: input.operatorId,
    content: input,
    run: async (ctx) => {
      const old = await lockCardRow(ctx.client, input.cardNo);
      const issued = await replaceStep(ctx, {
        cardNo: input.cardNo,
        reason: input.reason,
        today: new Date(),
      });
      const newCardNo = (issued as Record<string, unknown>).cardNo as string;
      const balances = await balancesFromPostings(ctx, old.cardholder_id);
      // The parent who approves top-ups and gets the texts follows the holder to the new card.
      await ctx.client.query(`update parent_bindings set card_no = $2 where card_no = $1`, [
        input.cardNo,
        newCardNo,
      ]);
      const { rowCount } = await ctx.client.query(
        `update card_replacements
            set state = 'transferred', new_card_no = $2, wait_ended = $3, silent_terminals = $4,
                main_fen = $5, subsidy_fen = $6, deposit_fen = $7, transferred_at = now()
          where old_card_no = $1 and state = 'waiting_offline'`,
        [
          input.cardNo,
          newCardNo,
          input.waitEnded,
          input.silentTerminals,
          balances.mainFen.toString(),
          balances.subsidyFen.toString(),
          balances.depositFen.toString(),
        ],
      );
      if (rowCount !== 1)
        throw new OfficeRefusal('invalid_input', `card ${input.cardNo} has no replacement waiting`);
      await ctx.audit({
        action: 'replacement_transfer',
        schoolId: old.school_id,
        cardholderId: old.cardholder_id,
        cardNo: input.cardNo,
        detail: { newCardNo, waitEnded: input.waitEnded, silent: input.silentTerminals },
      });
      return {
        oldCardNo: input.cardNo,
        newCardNo,
        mainFen: balances.mainFen,
        subsidyFen: balances.subsidyFen,
        depositFen: balances.depositFen,
      };
    },
  });
}
