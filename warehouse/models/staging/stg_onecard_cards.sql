-- The latest version of each card row, from the dimension changes the outbox carried.
with source as (
    select * from {{ source('onecard', 'dimension_changes') }} final
    where entity = 'cards'
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
        entity_key                                                             as card_no,
        JSONExtractUInt(row, 'cardholder_id')                                  as cardholder_id,
        JSONExtractUInt(row, 'category_id')                                    as category_id,
        JSONExtractString(row, 'status')                                       as card_status,
        toDate(JSONExtractString(row, 'expires_on'))                           as expires_on,
        changed_at
    from latest
)

select * from final
