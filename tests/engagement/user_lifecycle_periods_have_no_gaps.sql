-- user_lifecycle has exactly one row per granularity and period from the period of the
-- first active day of anyone to the period of as_of_date: none missing, none extra.
-- Returns the periods that differ.
with

expected as (

    {% for granularity in granularities() %}
        select
            '{{ granularity }}' as granularity,
            period_start
        from ({{ expected_activity_period_starts(granularity) }}) as {{ granularity }}_periods
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

actual as (

    select
        granularity,
        period_start
    from {{ ref('user_lifecycle') }}

),

final as (

    {{ set_difference_rows('expected', 'actual', ['granularity', 'period_start']) }}

)

select * from final
