-- Up Migration
-- 圈存 through a reader: the ledger takes the money first (idempotent on the request), then the card is
-- credited; this row remembers the card's balance and counter before, so a retry after the card was
-- pulled out can tell whether the credit reached the card and never credits it twice.
create table card_loads (
  request_key        text primary key,
  card_no            text not null references cards,
  amount_fen         bigint not null check (amount_fen > 0),
  balance_fen_before bigint not null,
  online_counter     integer not null,
  state              text not null default 'pending' check (state in ('pending', 'credited')),
  tac                text,
  created_at         timestamptz not null default now(),
  credited_at        timestamptz
);

-- Down Migration
drop table card_loads;
