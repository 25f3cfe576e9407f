import type { Pool } from '../db/pool.ts';

/**
 * The parent bound to a card (until the card centre's people records carry it): the phone that approves
 * top-ups, the bank card token they are paid from, and the low-balance threshold that starts one.
 */
export interface ParentBinding {
  cardNo: string;
  guardianPhone: string;
  guardianName: string | null;
  bankCardToken: string;
  bankCardLast4: string | null;
  lowBalanceThresholdFen: number | null;
  topUpAmountFen: number;
}

export const e164 = /^\+[1-9][0-9]{6,14}$/;

export async function bindParent(db: Pick<Pool, 'query'>, binding: ParentBinding): Promise<void> {
  await db.query(
    `insert into parent_bindings (card_no, guardian_phone, guardian_name, bank_card_token, bank_card_last4,
                                  low_balance_threshold_fen, top_up_amount_fen)
     values ($1, $2, $3, $4, $5, $6, $7)
     on conflict (card_no) do update set guardian_phone = excluded.guardian_phone, guardian_name = excluded.guardian_name,
       bank_card_token = excluded.bank_card_token, bank_card_last4 = excluded.bank_card_last4,
       low_balance_threshold_fen = excluded.low_balance_threshold_fen, top_up_amount_fen = excluded.top_up_amount_fen`,
    [
      binding.cardNo,
      binding.guardianPhone,
      binding.guardianName,
      binding.bankCardToken,
      binding.bankCardLast4,
      binding.lowBalanceThresholdFen,
      binding.topUpAmountFen,
    ],
  );
}

/** The binding with what a top-up needs of the card: its school, holder's name, main wallet balance. */
export interface BoundCard extends ParentBinding {
  schoolId: string;
  holderName: string;
  cardStatus: string;
  mainBalanceFen: number;
}

export async function findBoundCard(db: Pick<Pool, 'query'>, cardNo: string): Promise<BoundCard | undefined> {
  const { rows } = await db.query<{
    card_no: string;
    guardian_phone: string;
    guardian_name: string | null;
    bank_card_token: string;
    bank_card_last4: string | null;
    low_balance_threshold_fen: bigint | null;
    top_up_amount_fen: bigint;
    school_id: string;
    holder_name: string;
    status: string;
    balance_fen: bigint | null;
  }>(
    `select b.*, h.school_id, h.name as holder_name, c.status, a.balance_fen
       from parent_bindings b join cards c using (card_no) join cardholders h on h.cardholder_id = c.cardholder_id
       left join accounts a on a.cardholder_id = c.cardholder_id and a.wallet_kind = 'main'
      where b.card_no = $1`,
    [cardNo],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    cardNo: row.card_no,
    guardianPhone: row.guardian_phone,
    guardianName: row.guardian_name,
    bankCardToken: row.bank_card_token,
    bankCardLast4: row.bank_card_last4,
    lowBalanceThresholdFen:
      row.low_balance_threshold_fen === null ? null : Number(row.low_balance_threshold_fen),
    topUpAmountFen: Number(row.top_up_amount_fen),
    schoolId: row.school_id,
    holderName: row.holder_name,
    cardStatus: row.status,
    mainBalanceFen: Number(row.balance_fen ?? 0n),
  };
}
