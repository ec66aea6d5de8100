{#- Segment rows add up to the `all` row. For every group of `group_by` that has an `all`
    row, the rows of each of `segment_types` are there and each of `measures` sums over them
    to the `all` row's value; and no segment rows (of these or of any other type but `all`)
    stand in a group without an `all` row. Fails on every group and segment type where a row
    set is missing or a measure differs (a null on either side counts as differing). -#}
{% test segments_add_up_to_all(
    model,
    group_by,
    measures,
    segment_types=['persona', 'channel'],
    segment_column='segment_type',
    all_value='all'
) %}

    {%- set group_csv = group_by | join(', ') %}

    with

    all_rows as (

        select * from {{ model }}
        where {{ segment_column }} = '{{ all_value }}'

    ),

    segment_types as (

        {% for segment_type in segment_types %}
            select '{{ segment_type }}' as segment_type
            {% if not loop.last %}union all{% endif %}
        {% endfor %}

    ),

    expected as (

        select
            {% for column in group_by %}
                all_rows.{{ column }},
            {% endfor %}
            {% for measure in measures %}
                all_rows.{{ measure }} as all_{{ measure }},
            {% endfor %}
            segment_types.segment_type

        from all_rows
        cross join segment_types

    ),

    segment_sums as (

        select
            {{ group_csv }},
            {% for measure in measures %}
                sum({{ measure }}) as segment_{{ measure }},
            {% endfor %}
            {{ segment_column }} as segment_type

        from {{ model }}
        where {{ segment_column }} is distinct from '{{ all_value }}'
        group by {{ group_csv }}, {{ segment_column }}

    ),

    validation_errors as (

        select
            {% for column in group_by %}
                coalesce(expected.{{ column }}, segment_sums.{{ column }}) as {{ column }},
            {% endfor %}
            coalesce(expected.segment_type, segment_sums.segment_type) as segment_type,
            {% for measure in measures %}
                expected.all_{{ measure }},
                segment_sums.segment_{{ measure }},
            {% endfor %}
            expected.segment_type is null as is_missing_all_row,
            segment_sums.segment_type is null as is_missing_segment_rows

        from expected
        full outer join segment_sums
            on
                expected.segment_type = segment_sums.segment_type
                {% for column in group_by %}
                    and expected.{{ column }} = segment_sums.{{ column }}
                {% endfor %}
        where
            expected.segment_type is null
            or segment_sums.segment_type is null
            {% for measure in measures %}
                or not coalesce(expected.all_{{ measure }} = segment_sums.segment_{{ measure }}, false)
            {% endfor %}

    )

    select * from validation_errors

{% endtest %}
