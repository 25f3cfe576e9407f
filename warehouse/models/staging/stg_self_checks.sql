-- Staging view over the raw self-check rows: typed, named, one row per (check_id, component).
select
    concat(check_id, ':', component) as check_component_key,
    check_id,
    started_at,
    toDate(started_at)               as check_date,
    component,
    detail
from {{ source('onecard', 'self_checks') }}
