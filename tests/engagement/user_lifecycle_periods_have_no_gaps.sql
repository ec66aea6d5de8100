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

missing as (

    select
        granularity,
        period_start
    from expected
    except
    select
        granularity,
        period_start
    from actual

),

extra as (

    select
        granularity,
        period_start
    from actual
    except
    select
        granularity,
        period_start
    from expected

),

final as (

    select
        'missing' as problem,
        granularity,
        period_start
    from missing
    union all
    select
        'extra' as problem,
        granularity,
        period_start
    from extra

)

select * from final
