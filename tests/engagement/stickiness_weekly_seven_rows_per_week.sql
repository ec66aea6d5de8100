-- stickiness_weekly has exactly 7 rows per week (days_active 1..7) and exactly the weeks
-- from the week of the first active day of anyone to the week of as_of_date. Returns the
-- weeks that break either rule.
with

stickiness_weekly as (

    select * from {{ ref('stickiness_weekly') }}

),

expected_weeks as (

    {{ expected_activity_period_starts('week') }}

),

week_rows as (

    select
        week_start,
        count(*) as row_count,
        count(distinct days_active) as distinct_days_active,
        min(days_active) as min_days_active,
        max(days_active) as max_days_active

    from stickiness_weekly
    group by week_start

),

final as (

    select
        coalesce(week_rows.week_start, expected_weeks.period_start) as week_start,
        week_rows.row_count,
        week_rows.distinct_days_active,
        expected_weeks.period_start is not null as is_expected_week

    from week_rows
    full outer join expected_weeks on week_rows.week_start = expected_weeks.period_start
    where
        week_rows.week_start is null
        or expected_weeks.period_start is null
        or week_rows.row_count <> 7
        or week_rows.distinct_days_active <> 7
        or week_rows.min_days_active <> 1
        or week_rows.max_days_active <> 7

)

select * from final
