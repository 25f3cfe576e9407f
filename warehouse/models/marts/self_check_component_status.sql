{{ config(engine='MergeTree()', order_by='component') }}
-- Latest self-check result per component, with how often and since when it has been checked.
select
    component,
    max(started_at)                    as last_checked_at,
    argMax(check_id, started_at)       as last_check_id,
    argMax(detail, started_at)         as last_detail,
    min(started_at)                    as first_checked_at,
    count()                            as checks
from {{ ref('stg_self_checks') }}
group by component
