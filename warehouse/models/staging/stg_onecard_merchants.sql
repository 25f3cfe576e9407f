-- The latest version of each merchant row, from the dimension changes the outbox carried.
with source as (
    select * from {{ source('onecard', 'dimension_changes') }} final
    where entity = 'merchants'
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
        entity_key                                                             as merchant_id,
        JSONExtractString(row, 'school_id')                                    as school_id,
        JSONExtractString(row, 'name')                                         as merchant_name,
        JSONExtractString(row, 'kind')                                         as merchant_kind,
        JSONExtractString(row, 'settlement_kind')                              as settlement_kind,
        ifNull(JSONExtract(row, 'parent_merchant_id', 'Nullable(String)'), '') as parent_merchant_id,
        ifNull(JSONExtract(row, 'department_id', 'Nullable(String)'), '')      as department_id,
        changed_at
    from latest
)

select * from final
