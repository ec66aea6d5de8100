-- Unbounded retention counts the members active in a period or any later one, so it can
-- only fall (or stay) as period_number grows, and a cohort's periods run 0, 1, 2, ...
-- without gaps. Checked on both retention marts; returns the rows that break it.
with

retention_cohorts as (

    select
        'retention_cohorts' as mart,
        cohort_granularity as granularity,
        cohort_start,
        segment_type,
        segment_value,
        period_number,
        unbounded_retained_users

    from {{ ref('retention_cohorts') }}

),

activity_retention as (

    select
        'activity_retention' as mart,
        granularity,
        cohort_start,
        'all' as segment_type,
        'all' as segment_value,
        period_number,
        unbounded_retained_users

    from {{ ref('activity_retention') }}

),

all_rows as (

    select * from retention_cohorts
    union all
    select * from activity_retention

),

with_previous as (

    select
        *,
        lag(period_number) over (
            partition by mart, granularity, cohort_start, segment_type, segment_value
            order by period_number
        ) as previous_period_number,
        lag(unbounded_retained_users) over (
            partition by mart, granularity, cohort_start, segment_type, segment_value
            order by period_number
        ) as previous_unbounded_retained_users

    from all_rows

),

final as (

    select * from with_previous
    where
        (previous_period_number is null and period_number <> 0)
        or previous_period_number <> period_number - 1
        or unbounded_retained_users > previous_unbounded_retained_users

)

select * from final
