-- Recurring (activity) retention per day, week and month: the cohort of a period is every
-- user active in it (a user is in many cohorts); how many of them were active
-- period_number periods later (retained) and in that period or any later one (unbounded).
with

active_periods as (

    select * from {{ ref('int_user_active_periods') }}

),

periods as (

    select * from {{ ref('int_periods') }}

),

cohort_members as (

    -- One row per granularity, activity cohort and member.
    select
        granularity,
        period_start as cohort_start,
        user_id

    from active_periods

),

{{ retention_ctes(
    cohort_members='cohort_members',
    active_periods='active_periods',
    periods='periods',
) }}

final as (

    select
        cast(granularity as string) as granularity,
        cast(cohort_start as date) as cohort_start,
        cast(period_number as integer) as period_number,
        cast(cohort_size as bigint) as cohort_size,
        cast(retained_users as bigint) as retained_users,
        cast(retention_rate as double) as retention_rate,
        cast(unbounded_retained_users as bigint) as unbounded_retained_users,
        cast(unbounded_retention_rate as double) as unbounded_retention_rate,
        cast(is_complete as boolean) as is_complete

    from retention_rows

)

select * from final
