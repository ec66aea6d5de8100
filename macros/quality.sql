{#- The quarantine rule a row breaks, or null for a good row. Rules are checked in the order
    given and the first one broken is recorded, so every bad row carries exactly one rule.
    `not_null` lists the contract's required columns (rule null_<column>); `rules` is a list
    of [rule_name, condition that is true for a bad row]. -#}
{% macro quarantine_rule(not_null=[], rules=[]) -%}
    case
        {%- for column in not_null %}
        when {{ column }} is null then 'null_{{ column }}'
        {%- endfor %}
        {%- for rule in rules %}
        when {{ rule[1] }} then '{{ rule[0] }}'
        {%- endfor %}
    end
{%- endmacro %}

{#- Keeps one row per key: the first by `order_by`. Used by every staging model that
    collapses re-delivered copies, so the tie-breaking rules live in one place. -#}
{% macro deduplicate(relation, partition_by, order_by) -%}
    select *
    from (
        select
            *,
            row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as _copy_number
        from {{ relation }}
    ) as numbered
    where _copy_number = 1
{%- endmacro %}

{#- SQL list literal of a value set, e.g. ('a', 'b'). -#}
{% macro sql_values(values) -%}
    ({%- for value in values -%}'{{ value }}'{%- if not loop.last %}, {% endif -%}{%- endfor -%})
{%- endmacro %}
