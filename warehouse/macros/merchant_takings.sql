{#- The takings columns every merchant report shares, over stg_onecard_ledger_transactions rows. -#}
{% macro merchant_takings_columns() %}
        countIf(transaction_kind in ('purchase', 'offline_purchase'))                   as purchases,
        sumIf(amount_fen, transaction_kind in ('purchase', 'offline_purchase'))         as purchase_fen,
        countIf(transaction_kind = 'offline_purchase')                                  as offline_purchases,
        sumIf(amount_fen, transaction_kind = 'offline_purchase')                        as offline_purchase_fen,
        countIf(transaction_kind = 'refund')                                            as refunds,
        sumIf(amount_fen, transaction_kind = 'refund')                                  as refund_fen,
        countIf(transaction_kind = 'reversal')                                          as reversals,
        sumIf(amount_fen, transaction_kind = 'reversal')                                as reversal_fen,
        purchase_fen - refund_fen - reversal_fen                                        as net_takings_fen,
        uniqExactIf(cardholder_id, transaction_kind in ('purchase', 'offline_purchase')) as customers
{% endmacro %}

{% macro merchant_transactions() %}
    select * from {{ ref('stg_onecard_ledger_transactions') }}
    where merchant_id != '' and transaction_kind in ('purchase', 'offline_purchase', 'refund', 'reversal')
{% endmacro %}
