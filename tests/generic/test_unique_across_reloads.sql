{#- Values of `column_name` are unique in an incremental model whose rows carry the time
    of the run that loaded them (`loaded_at_column`). Only the rows of the latest run are
    checked, against the whole table: earlier rows were checked by the runs that loaded
    them and have not changed since, so the whole table stays covered without grouping
    every row on every run. After a full refresh every row is of the latest run. -#}
{% test unique_across_reloads(model, column_name, loaded_at_column='loaded_at') %}

    with

    latest_batch as (

        select distinct {{ column_name }} as value
        from {{ model }}
        where
            {{ column_name }} is not null
            and {{ loaded_at_column }} = (select max({{ loaded_at_column }}) from {{ model }})

    ),

    checked as (

        select every_row.{{ column_name }} as value
        from {{ model }} as every_row
        inner join latest_batch on every_row.{{ column_name }} = latest_batch.value

    ),

    duplicates as (

        select
            value,
            count(*) as occurrences

        from checked
        group by value
        having count(*) > 1

    )

    select * from duplicates

{% endtest %}
