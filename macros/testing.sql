{#- The rows of an "exactly the expected set" test: every row of `columns` that stands in
    `expected` but not in `actual` (problem = 'missing') and every one that stands in
    `actual` but not in `expected` (problem = 'extra'). `expected` and `actual` name
    relations or CTEs that hold `columns`. Set semantics: duplicate rows are the grain
    tests' job. -#}
{% macro set_difference_rows(expected, actual, columns) -%}
    {%- set columns_csv = columns | join(', ') -%}
    select
        'missing' as problem,
        {{ columns_csv }}
    from (
        select {{ columns_csv }} from {{ expected }}
        except
        select {{ columns_csv }} from {{ actual }}
    ) as missing
    union all
    select
        'extra' as problem,
        {{ columns_csv }}
    from (
        select {{ columns_csv }} from {{ actual }}
        except
        select {{ columns_csv }} from {{ expected }}
    ) as extra
{%- endmacro %}
