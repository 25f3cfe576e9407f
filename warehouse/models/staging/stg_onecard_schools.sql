-- The latest version of each school row, from the dimension changes the outbox carried.
with source as (
    select * from {{ source('onecard', 'dimension_changes') }} final
    where entity = 'schools'
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
        entity_key                                                             as school_id,
        JSONExtractString(row, 'name')                                         as school_name,
        JSONExtractString(row, 'district')                                     as district,
        JSONExtractString(row, 'kind')                                         as school_kind,
        changed_at
    from latest
)

select * from final
