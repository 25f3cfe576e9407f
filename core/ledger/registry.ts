import type { Client } from './store/unit-of-work.ts';
import { payableLanes, subjects, unitSubjects, walletSubject, type WalletKind } from './subjects.ts';
import { hashPin } from './pin.ts';

type Queryable = Pick<Client, 'query'>;

/**
 * What the money core needs to exist before money moves: a school's accounting unit with its accounts,
 * an independent merchant's payable account, a card with its holder's wallets. Idempotent: running one
 * again changes nothing. The card centre (a later issue) takes over card issue with its full lifecycle.
 */
export async function ensureSchoolUnit(db: Queryable, schoolId: string): Promise<void> {
  await db.query(
    `insert into accounting_units (unit_id, parent_unit_id, kind, school_id, name)
     select school_id, 'BUREAU', 'school', school_id, name from schools where school_id = $1
     on conflict do nothing`,
    [schoolId],
  );
  await ensureUnitAccounts(db, schoolId);
}

export async function ensureUnitAccounts(db: Queryable, unitId: string): Promise<void> {
  await db.query(
    `insert into accounts (subject_code, unit_id, normal_sign)
     select s.subject_code, $1, case s.normal_side when 'debit' then 1 else -1 end
       from account_subjects s where s.subject_code = any($2::text[])
     on conflict do nothing`,
    [unitId, [...unitSubjects]],
  );
}

/**
 * An independent merchant gets its payable account, in `payableLanes` lanes; a managed one settles
 * through its parent's.
 */
export async function ensureMerchantAccount(db: Queryable, merchantId: string): Promise<void> {
  await db.query(
    `insert into accounts (subject_code, unit_id, normal_sign, merchant_id, lane)
     select $2, coalesce(m.unit_id, m.school_id), -1, m.merchant_id, l.lane
       from merchants m, generate_series(0, $3::int - 1) as l(lane)
      where m.merchant_id = $1 and m.settlement_kind = 'independent'
     on conflict do nothing`,
    [merchantId, subjects.merchantPayables, payableLanes],
  );
}

export async function ensureWallets(db: Queryable, cardholderId: bigint): Promise<void> {
  const kinds: WalletKind[] = ['main', 'subsidy', 'deposit'];
  await db.query(
    `insert into accounts (subject_code, unit_id, normal_sign, cardholder_id, wallet_kind, floor_fen)
     select w.subject_code, h.school_id, -1, h.cardholder_id, w.kind, 0
       from cardholders h, unnest($2::text[], $3::text[]) as w(kind, subject_code)
      where h.cardholder_id = $1
     on conflict do nothing`,
    [cardholderId.toString(), kinds, kinds.map((kind) => walletSubject[kind])],
  );
}

export interface CardIssue {
  cardNo: string;
  cardholderId: bigint;
  categoryId: number;
  expiresOn: string;
  pin?: string;
}

export async function issueCard(db: Queryable, card: CardIssue): Promise<void> {
  await ensureWallets(db, card.cardholderId);
  await db.query(
    `insert into cards (card_no, cardholder_id, category_id, expires_on, pin_hash) values ($1, $2, $3, $4, $5)
     on conflict do nothing`,
    [
      card.cardNo,
      card.cardholderId.toString(),
      card.categoryId,
      card.expiresOn,
      card.pin ? await hashPin(card.pin) : null,
    ],
  );
}
