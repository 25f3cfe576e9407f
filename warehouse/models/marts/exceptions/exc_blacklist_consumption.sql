{{ config(order_by='(business_date, card_no, transaction_id)') }}
-- 黑名单消费: purchases made with a card that was blacklisted, frozen or cancelled at that moment (offline
-- terminals that had not yet received the list). The card's status is taken as of the purchase's booking.
with purchases as (
    select * from {{ ref('stg_onecard_ledger_transactions') }}
    where transaction_kind in ('purchase', 'offline_purchase')
),

card_versions as (
    select * from {{ ref('stg_onecard_card_versions') }}
),

final as (
    select
        purchases.transaction_id         as transaction_id,
        purchases.business_date          as business_date,
        purchases.school_id              as school_id,
        purchases.merchant_id            as merchant_id,
        purchases.terminal_id            as terminal_id,
        purchases.card_no                as card_no,
        purchases.cardholder_id          as cardholder_id,
        purchases.transaction_kind       as transaction_kind,
        purchases.amount_fen             as amount_fen,
        purchases.created_at             as booked_at,
        card_versions.card_status        as card_status_then,
        card_versions.valid_from         as status_since
    from purchases
    asof inner join card_versions
        on card_versions.card_no = purchases.card_no
        and card_versions.valid_from <= purchases.created_at
    where card_versions.card_status in ('blacklisted', 'frozen', 'cancelled')
)

select * from final
