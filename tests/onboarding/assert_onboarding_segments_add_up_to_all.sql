-- In activation_cohorts, onboarding_funnel and time_to_value, the rows of each segment_type
-- (persona, channel) of a cohort add up to its (all, all) row: signups and the counted
-- users. Returns every cohort, step and segment_type whose sums differ.
with

activation as (

    select
        'activation_cohorts' as mart,
        signup_week,
        0 as step_order,
        segment_type,
        signups,
        activated_users as counted_users

    from {{ ref('activation_cohorts') }}

),

funnel as (

    select
        'onboarding_funnel' as mart,
        signup_week,
        step_order,
        segment_type,
        signups,
        users_completed as counted_users

    from {{ ref('onboarding_funnel') }}

),

value_reached as (

    select
        'time_to_value' as mart,
        signup_week,
        0 as step_order,
        segment_type,
        signups,
        reached_value_users as counted_users

    from {{ ref('time_to_value') }}

),

all_rows as (

    select * from activation
    union all
    select * from funnel
    union all
    select * from value_reached

),

segment_types as (

    select 'persona' as segment_type
    union all
    select 'channel' as segment_type

),

totals as (

    select
        mart,
        signup_week,
        step_order,
        signups,
        counted_users

    from all_rows
    where segment_type = 'all'

),

segment_sums as (

    select
        mart,
        signup_week,
        step_order,
        segment_type,
        sum(signups) as signups,
        sum(counted_users) as counted_users

    from all_rows
    where segment_type != 'all'
    group by mart, signup_week, step_order, segment_type

),

expected_segments as (

    -- Every cohort with an `all` row has both segment types.
    select
        totals.mart,
        totals.signup_week,
        totals.step_order,
        segment_types.segment_type,
        totals.signups,
        totals.counted_users

    from totals
    cross join segment_types

),

final as (

    select
        coalesce(expected_segments.mart, segment_sums.mart) as mart,
        coalesce(expected_segments.signup_week, segment_sums.signup_week) as signup_week,
        coalesce(expected_segments.step_order, segment_sums.step_order) as step_order,
        coalesce(expected_segments.segment_type, segment_sums.segment_type) as segment_type,
        expected_segments.signups as all_signups,
        segment_sums.signups as segment_signups,
        expected_segments.counted_users as all_counted_users,
        segment_sums.counted_users as segment_counted_users

    from expected_segments
    full outer join segment_sums
        on
            expected_segments.mart = segment_sums.mart
            and expected_segments.signup_week = segment_sums.signup_week
            and expected_segments.step_order = segment_sums.step_order
            and expected_segments.segment_type = segment_sums.segment_type

)

select * from final
where
    all_signups is null
    or segment_signups is null
    or all_signups != segment_signups
    or all_counted_users != segment_counted_users
