{#- Grain test for models keyed by more than one column: fails on every combination of
    `combination_of_columns` that occurs more than once (nulls compare equal, so a null
    key part cannot hide a duplicate). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

    {%- set columns_csv = combination_of_columns | join(', ') %}

    with

    validation_errors as (

        select
            {{ columns_csv }},
            count(*) as copies

        from {{ model }}
        group by {{ columns_csv }}
        having count(*) > 1

    )

    select * from validation_errors

{% endtest %}
