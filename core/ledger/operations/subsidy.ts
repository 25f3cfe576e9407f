import { credit, debit } from '../book.ts';
import { businessDate } from '../calendar.ts';
import { refusal, type DraftTransaction, type LedgerCommand } from '../command.ts';
import { fenToJson, limits, minFen, type Fen } from '../money.ts';
import { findUnitAccount } from '../store/lookups.ts';
import type { Client } from '../store/unit-of-work.ts';
import { subjects } from '../subjects.ts';

export type SubsidyTarget = { categoryIds: number[] } | { batchCode: string };

export interface SubsidyIssue {
  batchId: string;
  unitId: string;
  amountFen: Fen;
  target: SubsidyTarget;
  expiresOn: string;
  operatorId: string;
  at: Date;
}

/** Cardholders of the unit's schools with a card that is not cancelled, in the categories or batch. */
async function selectRecipients(
  client: Client,
  unitId: string,
  target: SubsidyTarget,
): Promise<Array<{ cardholderId: bigint; accountId: bigint }>> {
  const { rows } = await client.query<{ cardholder_id: bigint; account_id: bigint }>(
    `select distinct h.cardholder_id, w.account_id
       from accounting_units u
       join cardholders h on (u.kind = 'bureau' or h.school_id = u.school_id)
       join cards c on c.cardholder_id = h.cardholder_id and c.status <> 'cancelled'
       join accounts w on w.cardholder_id = h.cardholder_id and w.wallet_kind = 'subsidy'
      where u.unit_id = $1
        and (($2::smallint[] is not null and c.category_id = any($2::smallint[])) or ($3::text is not null and h.batch_code = $3))
      order by h.cardholder_id
      limit $4`,
    [
      unitId,
      'categoryIds' in target ? target.categoryIds : null,
      'batchCode' in target ? target.batchCode : null,
      limits.subsidyCardholdersPerBatchMax + 1,
    ],
  );
  return rows.map((row) => ({ cardholderId: row.cardholder_id, accountId: row.account_id }));
}

/**
 * 补助发放: one transaction per recipient from the unit's subsidy expense into the subsidy wallet, all in
 * one database transaction with the batch and its grants (the grants are what clearing works from).
 */
export function subsidyIssueCommand(input: SubsidyIssue): LedgerCommand {
  const { batchId, unitId, amountFen, target, expiresOn, operatorId } = input;
  return {
    requestKey: `subsidy:${batchId}`,
    kind: 'subsidy_issue',
    content: { batchId, unitId, amountFen, target, expiresOn, operatorId },
    amountFen,
    async prepare(client) {
      const expense = await findUnitAccount(client, unitId, subjects.subsidyExpense);
      if (expense === undefined) return refusal('unit_not_found', unitId);
      const recipients = await selectRecipients(client, unitId, target);
      if (recipients.length === 0) return refusal('subsidy_batch_targets_nobody');
      if (recipients.length > limits.subsidyCardholdersPerBatchMax) {
        return refusal(
          'amount_exceeds_maximum',
          `more than ${limits.subsidyCardholdersPerBatchMax} recipients in one batch`,
        );
      }
      const day = businessDate(input.at);
      const keyOf = (cardholderId: bigint) => `subsidy:${batchId}:${cardholderId}`;
      const transactions: DraftTransaction[] = recipients.map((r) => ({
        requestKey: keyOf(r.cardholderId),
        kind: 'subsidy_issue',
        amountFen,
        businessDate: day,
        detail: { batchId, cardholderId: String(r.cardholderId) },
        lines: [debit(expense, amountFen), credit(r.accountId, amountFen)],
        event: {
          topic: 'ledger.subsidy_issue',
          aggregateKey: String(r.cardholderId),
          payload: {
            batchId,
            cardholderId: String(r.cardholderId),
            amountFen: fenToJson(amountFen),
            expiresOn,
          },
        },
      }));
      const totalFen = amountFen * BigInt(recipients.length);
      return {
        accountIds: [expense, ...recipients.map((r) => r.accountId)],
        decide: () => ({
          outcome: 'ok',
          transactions,
          response: () => ({
            batchId,
            issuedCount: recipients.length,
            issuedTotalFen: fenToJson(totalFen),
            expiresOn,
          }),
          after: async (c) => {
            await c.query(
              `insert into subsidy_batches (batch_id, unit_id, amount_fen, target, expires_on, issued_count, issued_total_fen)
               values ($1, $2, $3, $4, $5, $6, $7)`,
              [
                batchId,
                unitId,
                amountFen.toString(),
                JSON.stringify(target),
                expiresOn,
                recipients.length,
                totalFen.toString(),
              ],
            );
            await c.query(
              `insert into subsidy_grants (batch_id, cardholder_id, amount_fen, transaction_id)
               select $1, g.cardholder_id, $2, t.transaction_id
                 from unnest($3::bigint[], $4::text[]) as g(cardholder_id, request_key)
                 join ledger_transactions t on t.request_key = g.request_key`,
              [
                batchId,
                amountFen.toString(),
                recipients.map((r) => r.cardholderId.toString()),
                recipients.map((r) => keyOf(r.cardholderId)),
              ],
            );
          },
        }),
      };
    },
  };
}

export interface SubsidyClearing {
  requestKey: string;
  batchId: string;
  operatorId: string;
  at: Date;
}

/**
 * 补助清零 after expiry: what is left of each grant goes back to the unit. Wallets spend the oldest
 * subsidy first, so what is left of a grant is the wallet balance beyond the newer, still-standing
 * grants, capped at the grant.
 */
export function subsidyClearingCommand(input: SubsidyClearing): LedgerCommand {
  const { requestKey, batchId, operatorId } = input;
  return {
    requestKey,
    kind: 'subsidy_clearing',
    content: { batchId, operatorId },
    amountFen: null,
    async prepare(client) {
      const { rows: batches } = await client.query<{
        unit_id: string;
        expires_on: string;
        cleared_at: Date | null;
      }>(`select unit_id, expires_on::text, cleared_at from subsidy_batches where batch_id = $1 for update`, [
        batchId,
      ]);
      const batch = batches[0];
      if (!batch) return refusal('subsidy_batch_not_found', batchId);
      if (batch.cleared_at) return refusal('subsidy_batch_already_cleared');
      const day = businessDate(input.at);
      if (batch.expires_on >= day)
        return refusal('subsidy_batch_has_not_expired', `expires after ${batch.expires_on}`);
      const expense = (await findUnitAccount(client, batch.unit_id, subjects.subsidyExpense))!;
      const { rows: grants } = await client.query<{
        cardholder_id: bigint;
        amount_fen: bigint;
        account_id: bigint;
        later_fen: bigint;
      }>(
        `select g.cardholder_id, g.amount_fen, w.account_id,
                coalesce((select sum(l.amount_fen) from subsidy_grants l join subsidy_batches lb on lb.batch_id = l.batch_id
                           where l.cardholder_id = g.cardholder_id and l.transaction_id > g.transaction_id and lb.cleared_at is null), 0)::bigint as later_fen
           from subsidy_grants g join accounts w on w.cardholder_id = g.cardholder_id and w.wallet_kind = 'subsidy'
          where g.batch_id = $1 order by g.cardholder_id`,
        [batchId],
      );
      return {
        accountIds: [expense, ...grants.map((g) => g.account_id)],
        decide: (book) => {
          const transactions: DraftTransaction[] = [];
          let clearedFen = 0n;
          for (const grant of grants) {
            const left = minFen(grant.amount_fen, book.available(grant.account_id) - grant.later_fen);
            if (left <= 0n) continue;
            clearedFen += left;
            transactions.push({
              requestKey: `subsidy-clearing:${batchId}:${grant.cardholder_id}`,
              kind: 'subsidy_clearing',
              amountFen: left,
              businessDate: day,
              detail: { batchId, cardholderId: String(grant.cardholder_id), operatorId },
              lines: [debit(grant.account_id, left), credit(expense, left)],
              event: {
                topic: 'ledger.subsidy_clearing',
                aggregateKey: String(grant.cardholder_id),
                payload: { batchId, cardholderId: String(grant.cardholder_id), amountFen: fenToJson(left) },
              },
            });
          }
          return {
            outcome: 'ok',
            transactions,
            response: () => ({
              batchId,
              clearedCount: transactions.length,
              clearedTotalFen: fenToJson(clearedFen),
            }),
            after: async (c) => {
              await c.query(
                `update subsidy_batches set cleared_at = now(), cleared_total_fen = $2 where batch_id = $1`,
                [batchId, clearedFen.toString()],
              );
            },
          };
        },
      };
    },
  };
}
