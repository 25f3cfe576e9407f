{#- Money checks used by the marts' YAML. Each returns the offending rows, so a failure shows the amounts. -#}

{% test total_matches(model, column_name, to, field, to_where='1 = 1') %}
-- The model's total of column_name equals the reference model's total of field (rows filtered by to_where).
with model_total as (
    select toInt64(sum({{ column_name }})) as total from {{ model }}
),

reference_total as (
    select toInt64(sum({{ field }})) as total from {{ to }} where {{ to_where }}
),

final as (
    select model_total.total as model_total_fen, reference_total.total as reference_total_fen
    from model_total cross join reference_total
    where model_total.total != reference_total.total
)

select * from final
{% endtest %}

{% test debits_equal_credits(model, column_name, credit_column, group_by) %}
-- Double entry: per group, the debits (column_name) equal the credits.
with final as (
    select {{ group_by }}, sum({{ column_name }}) as debit_fen, sum({{ credit_column }}) as credit_fen
    from {{ model }}
    group by {{ group_by }}
    having debit_fen != credit_fen
)

select * from final
{% endtest %}
