-- Every day, week and month from the one containing the earliest signup or active day to
-- the one containing as_of_date, with its last date and whether it is over at as_of_date.
with

bounds as (

    select
        least(
            (select min(signup_date) from {{ ref('int_users_as_of') }}),
            (select min(activity_date) from {{ ref('int_user_active_days') }})
        ) as first_date,
        {{ as_of_date() }} as last_date

),

days as (

    {{ date_spine('(select first_date from bounds)', '(select last_date from bounds)') }}

),

{% for granularity in granularities() %}
    {{ granularity }}_periods as (

        select distinct
            '{{ granularity }}' as granularity,
            {{ period_start(granularity, 'date_day') }} as period_start

        from days

    ),

{% endfor %}

all_periods as (

    {% for granularity in granularities() %}
        select * from {{ granularity }}_periods
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        granularity,
        period_start,
        case granularity
            {% for granularity in granularities() %}
                when '{{ granularity }}' then {{ period_end(granularity, 'period_start') }}
            {% endfor %}
        end as period_end

    from all_periods

)

select
    granularity,
    period_start,
    period_end,
    {{ is_complete_by('period_end') }} as is_complete
from final
