-- Sign-up cohort retention per day, week and month cohort and segment: of the users who
-- signed up in the period starting at cohort_start, how many were active period_number
-- periods later (retained) and in that period or any later one (unbounded).
with

signup_periods as (

    select * from {{ ref('int_user_signup_periods') }}

),

user_segments as (

    select * from {{ ref('int_user_segments') }}

),

active_periods as (

    select * from {{ ref('int_user_active_periods') }}

),

periods as (

    select * from {{ ref('int_periods') }}

),

cohort_members as (

    -- One row per granularity, sign-up cohort, segment and member.
    select
        signup_periods.granularity,
        signup_periods.period_start as cohort_start,
        user_segments.segment_type,
        user_segments.segment_value,
        signup_periods.user_id

    from signup_periods
    inner join user_segments on signup_periods.user_id = user_segments.user_id

),

{{ retention_ctes(
    cohort_members='cohort_members',
    active_periods='active_periods',
    periods='periods',
    segment_columns=['segment_type', 'segment_value'],
) }}

final as (

    select
        cast(granularity as string) as cohort_granularity,
        cast(cohort_start as date) as cohort_start,
        cast(segment_type as string) as segment_type,
        cast(segment_value as string) as segment_value,
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
