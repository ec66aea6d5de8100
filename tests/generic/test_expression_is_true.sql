{#- Fails on every row for which `expression` is not true (false or null). Put the
    conditions a row may skip (e.g. "solved_at is null or ...") into the expression itself,
    or use the test's `where` config. On a column, the expression is read after the column
    name (`expression: ">= 0"`), as in dbt_utils. -#}
{% test expression_is_true(model, expression, column_name=none) %}

    {%- set condition = column_name ~ ' ' ~ expression if column_name else expression %}

    with

    validation_errors as (

        select *

        from {{ model }}
        where not coalesce({{ condition }}, false)

    )

    select * from validation_errors

{% endtest %}
