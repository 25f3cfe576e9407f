-- The data center's raw streams, loaded from the PostgreSQL outbox by warehouse/relay/.
-- Every table is a ReplacingMergeTree whose sorting key ends in the event's own id: the relay delivers at
-- least once, and a second copy of an event collapses into the first (dbt staging reads them with FINAL).
-- Dates are business dates in China Standard Time; timestamps are UTC with millisecond precision.

-- Non-money swipes. Grain: one row per terminal record (terminal_id, terminal_seq).
-- Questions: attendance per school per day, dorm returns, bus ridership: school, then date, then kind.
CREATE TABLE IF NOT EXISTS onecard.swipes
(
    event_id      UInt64 COMMENT 'outbox_id of the event in PostgreSQL',
    school_id     LowCardinality(String),
    swipe_date    Date COMMENT 'local (UTC+8) date of swiped_at',
    kind          LowCardinality(String) COMMENT 'gate_in, gate_out, dorm_in, dorm_out, class, bus_on, bus_off, access',
    terminal_id   LowCardinality(String),
    terminal_seq  UInt64,
    card_no       String,
    cardholder_id UInt64 COMMENT '0 when the card was unknown when swiped',
    swiped_at     DateTime64(3, 'UTC'),
    received_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(swipe_date)
ORDER BY (school_id, swipe_date, kind, cardholder_id, terminal_id, terminal_seq);

-- Money events, one row per ledger transaction, with who, where and what from the book of record.
-- Questions: merchant takings by day/month, school reports by day: school, date, merchant.
CREATE TABLE IF NOT EXISTS onecard.ledger_transactions
(
    event_id                UInt64,
    transaction_id          UInt64,
    kind                    LowCardinality(String),
    amount_fen              Int64,
    school_id               LowCardinality(String) COMMENT 'the merchant''s school, else the cardholder''s, else the unit''s',
    business_date           Date,
    merchant_id             LowCardinality(String) COMMENT 'empty when none',
    terminal_id             LowCardinality(String) COMMENT 'empty when none',
    card_no                 String COMMENT 'empty when none',
    cardholder_id           UInt64 COMMENT '0 when none',
    meal_period             LowCardinality(String),
    original_transaction_id UInt64 COMMENT 'the reversed or refunded transaction, 0 when none',
    original_kind           LowCardinality(String),
    method                  LowCardinality(String) COMMENT 'top-up method (cash, bank, ...), empty otherwise',
    batch_id                String COMMENT 'subsidy batch, empty otherwise',
    terminal_seq            Int64 COMMENT '-1 when none',
    created_at              DateTime64(3, 'UTC'),
    detail                  String COMMENT 'the transaction''s detail as JSON'
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(business_date)
ORDER BY (school_id, business_date, merchant_id, kind, transaction_id);

-- Postings of those transactions, for the finance reports by account subject (科目).
CREATE TABLE IF NOT EXISTS onecard.ledger_postings
(
    event_id       UInt64,
    posting_id     UInt64,
    transaction_id UInt64,
    business_date  Date,
    kind           LowCardinality(String),
    account_id     UInt64,
    subject_code   LowCardinality(String),
    unit_id        LowCardinality(String),
    merchant_id    LowCardinality(String),
    cardholder_id  UInt64,
    wallet_kind    LowCardinality(String),
    amount_fen     Int64 COMMENT 'signed: debit positive, credit negative'
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(business_date)
ORDER BY (unit_id, business_date, subject_code, posting_id);

-- Every version of every dimension row (schools, merchants, terminals, cardholders, card_categories,
-- cards) as the book of record changed it; staging keeps the latest, exceptions read the history.
-- Partitioned by entity, not month: dimensions are small and always read whole.
CREATE TABLE IF NOT EXISTS onecard.dimension_changes
(
    event_id   UInt64,
    entity     LowCardinality(String),
    entity_key String,
    changed_at DateTime64(3, 'UTC'),
    row        String COMMENT 'the PostgreSQL row as JSON'
)
ENGINE = ReplacingMergeTree
PARTITION BY entity
ORDER BY (entity, entity_key, event_id);

-- Card-vs-database findings (卡库不平, counter gaps, bad TACs) from the money core's purse checks.
CREATE TABLE IF NOT EXISTS onecard.purse_reports
(
    event_id    UInt64,
    report_id   UInt64,
    card_no     String,
    kind        LowCardinality(String),
    record_key  String,
    detail      String,
    report_date Date,
    created_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(report_date)
ORDER BY (report_date, card_no, report_id);

-- The ledger's own totals per business date and kind, loaded when a day is closed; dbt's money check
-- compares the warehouse's facts with them. A later load of the same day replaces the earlier one.
CREATE TABLE IF NOT EXISTS onecard.ledger_daily_totals
(
    business_date Date,
    kind          LowCardinality(String),
    transactions  UInt64,
    amount_fen    Int64,
    loaded_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(loaded_at)
PARTITION BY toYYYYMM(business_date)
ORDER BY (business_date, kind);
