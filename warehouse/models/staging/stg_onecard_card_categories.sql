-- The latest version of each card_categorie row, from the dimension changes the outbox carried.
with source as (
    select * from {{ source('onecard', 'dimension_changes') }} final
    where entity = 'card_categories'
),

latest as (
    select
        entity_key,
        argMax(row, event_id)   as row,
        max(changed_at)         as changed_at
    from source
    group by entity_key
),

final as (
    select
        toUInt8(entity_key)                                                    as category_id,
        JSONExtractString(row, 'name')                                         as category_name,
        JSONExtract(row, 'per_tx_limit_fen', 'Nullable(Int64)')                as per_tx_limit_fen,
        JSONExtract(row, 'daily_limit_fen', 'Nullable(Int64)')                 as daily_limit_fen,
        changed_at
    from latest
)

select * from final
