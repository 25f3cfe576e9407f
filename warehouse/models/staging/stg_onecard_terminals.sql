-- The latest version of each terminal row, from the dimension changes the outbox carried.
with source as (
    select * from {{ source('onecard', 'dimension_changes') }} final
    where entity = 'terminals'
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
        entity_key                                                             as terminal_id,
        JSONExtractString(row, 'school_id')                                    as school_id,
        ifNull(JSONExtract(row, 'merchant_id', 'Nullable(String)'), '')        as merchant_id,
        JSONExtractString(row, 'kind')                                         as terminal_kind,
        JSONExtractString(row, 'status')                                       as terminal_status,
        changed_at
    from latest
)

select * from final
