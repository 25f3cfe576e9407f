-- Every version of every card: its status from valid_from on. Exceptions join purchases to it as of their time.
with source as (
    select * from {{ source('onecard', 'dimension_changes') }} final
    where entity = 'cards'
),

final as (
    select
        concat(entity_key, ':', toString(event_id))      as card_version_key,
        entity_key                                       as card_no,
        event_id,
        changed_at                                       as valid_from,
        JSONExtractString(row, 'status')                 as card_status,
        JSONExtractUInt(row, 'cardholder_id')            as cardholder_id
    from source
)

select * from final
