import type { MealPeriod } from '../calendar.ts';
import type { Fen } from '../money.ts';
import type { CardState, TerminalState } from '../purchase/types.ts';
import type { SpendableWallet } from '../subjects.ts';
import type { Client } from './unit-of-work.ts';

/**
 * Terminals with what a purchase needs: the account that takes the takings (lane 0 of the merchant's
 * payable; a managed merchant's go to its independent parent), the prices of the fixed and portion modes, and the meal periods of the school.
 */
export async function loadTerminals(
  client: Client,
  terminalIds: readonly string[],
): Promise<Map<string, TerminalState>> {
  if (terminalIds.length === 0) return new Map();
  const { rows } = await client.query<{
    terminal_id: string;
    kind: string;
    status: string;
    merchant_id: string | null;
    payable_account_id: bigint | null;
    fixed_amount_fen: bigint | null;
    portion_price_fen: bigint | null;
    meal_periods: MealPeriod[];
  }>(
    `select t.terminal_id, t.kind, t.status, t.merchant_id, t.fixed_amount_fen, t.portion_price_fen,
            (select a.account_id from accounts a
              where a.merchant_id = coalesce(m.parent_merchant_id, m.merchant_id) and a.subject_code = '2101'
                and a.lane = 0) as payable_account_id,
            coalesce(
              (select json_agg(json_build_object('periodCode', p.period_code, 'startsAtMin', p.starts_at_min, 'endsAtMin', p.ends_at_min))
                 from meal_periods p where p.scope = t.school_id),
              (select json_agg(json_build_object('periodCode', p.period_code, 'startsAtMin', p.starts_at_min, 'endsAtMin', p.ends_at_min))
                 from meal_periods p where p.scope = '*'),
              '[]') as meal_periods
       from terminals t left join merchants m on m.merchant_id = t.merchant_id
      where t.terminal_id = any($1::text[])`,
    [terminalIds],
  );
  return new Map(
    rows.map((row) => [
      row.terminal_id,
      {
        terminalId: row.terminal_id,
        kind: row.kind,
        status: row.status,
        merchantId: row.merchant_id,
        payableAccountId: row.payable_account_id,
        fixedAmountFen: row.fixed_amount_fen,
        portionPriceFen: row.portion_price_fen,
        mealPeriods: row.meal_periods,
      },
    ]),
  );
}

/**
 * Cards locked in card_no order (card rows before account rows, as every writer does), with their
 * category's limits, the terminals among `terminalIds` their category is barred from, and their wallets.
 */
export async function lockCards(
  client: Client,
  cardNos: readonly string[],
  terminalIds: readonly string[],
): Promise<Map<string, CardState>> {
  if (cardNos.length === 0) return new Map();
  const { rows } = await client.query<{
    card_no: string;
    cardholder_id: bigint;
    status: CardState['status'];
    expires_on: string;
    category_id: number;
    per_tx_limit_fen: Fen | null;
    daily_limit_fen: Fen | null;
    daily_max_fen: Fen | null;
    wallet_order: SpendableWallet[];
    barred: string[] | null;
    wallets: Record<string, string> | null;
    spent_on: string | null;
    spent_fen: Fen;
    pin_hash: string | null;
  }>(
    `select c.card_no, c.cardholder_id, c.status, c.expires_on::text, c.category_id,
            coalesce(c.per_tx_limit_fen, k.per_tx_limit_fen) as per_tx_limit_fen,
            coalesce(c.daily_limit_fen, k.daily_limit_fen) as daily_limit_fen,
            k.daily_max_fen, k.wallet_order, c.spent_on::text, c.spent_fen, c.pin_hash,
            (select array_agg(b.terminal_id) from category_terminal_bars b
              where b.category_id = c.category_id and b.terminal_id = any($2::text[])) as barred,
            (select json_object_agg(a.wallet_kind, a.account_id::text) from accounts a
              where a.cardholder_id = c.cardholder_id and a.wallet_kind in ('main', 'subsidy')) as wallets
       from cards c join card_categories k on k.category_id = c.category_id
      where c.card_no = any($1::text[])
      order by c.card_no
        for update of c`,
    [[...new Set(cardNos)].sort(), terminalIds],
  );
  return new Map(
    rows.map((row) => [
      row.card_no,
      {
        cardNo: row.card_no,
        cardholderId: row.cardholder_id,
        status: row.status,
        expiresOn: row.expires_on,
        categoryId: row.category_id,
        perTxLimitFen: row.per_tx_limit_fen,
        dailyLimitFen: row.daily_limit_fen,
        dailyMaxFen: row.daily_max_fen,
        walletOrder: row.wallet_order,
        barredTerminalIds: new Set(row.barred ?? []),
        walletAccountIds: Object.fromEntries(
          Object.entries(row.wallets ?? {}).map(([kind, id]) => [kind, BigInt(id)]),
        ),
        spentOn: row.spent_on,
        spentFen: row.spent_fen,
        pinHash: row.pin_hash,
      },
    ]),
  );
}

export async function loadMenuPrices(
  client: Client,
  merchantIds: readonly string[],
): Promise<Map<string, Fen>> {
  if (merchantIds.length === 0) return new Map();
  const { rows } = await client.query<{ merchant_id: string; item_code: string; price_fen: Fen }>(
    `select merchant_id, item_code, price_fen from menu_items where merchant_id = any($1::text[])`,
    [merchantIds],
  );
  return new Map(rows.map((row) => [`${row.merchant_id}/${row.item_code}`, row.price_fen]));
}
