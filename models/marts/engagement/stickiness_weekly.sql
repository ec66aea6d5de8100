-- Distribution of weekly activity: for every week from the one containing the first active
-- day to the one containing as_of_date and every days_active 1..7, the number of users
-- active on exactly that many distinct days of the week (zeros included).
with

activity_periods as (

    select * from {{ ref('int_activity_periods') }}
    where granularity = 'week'

),

active_periods as (

    select * from {{ ref('int_user_active_periods') }}
    where granularity = 'week'

),

days_active_values as (

    -- 1..7: the possible numbers of active days in a (seven-day) week.
    {% for days_active in range(1, 8) %}
        select {{ days_active }} as days_active
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

week_grid as (

    select
        activity_periods.period_start as week_start,
        days_active_values.days_active,
        activity_periods.is_complete

    from activity_periods
    cross join days_active_values

),

week_counts as (

    select
        period_start as week_start,
        active_days as days_active,
        count(distinct user_id) as active_users

    from active_periods
    group by period_start, active_days

),

final as (

    select
        cast(week_grid.week_start as date) as week_start,
        cast(week_grid.days_active as integer) as days_active,
        cast(coalesce(week_counts.active_users, 0) as bigint) as users,  -- noqa: RF04
        cast(week_grid.is_complete as boolean) as is_complete

    from week_grid
    left join week_counts
        on
            week_grid.week_start = week_counts.week_start
            and week_grid.days_active = week_counts.days_active

)

select * from final
