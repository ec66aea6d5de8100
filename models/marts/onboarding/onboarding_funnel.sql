-- Onboarding funnel by signup week, for the (all, all) row set and each persona and
-- channel: per onboarding step of the event taxonomy, the members who did the step within
-- onboarding_window_days (x 24 h, inclusive) of signup_at, in any order, and the median
-- hours from signup_at to their first occurrence of it. Every step has a row per cohort.
with

cohort_members as (

    {{ signup_week_cohort_members() }}

),

cohorts as (

    {{ signup_week_cohorts('cohort_members') }}

),

taxonomy as (

    select * from {{ ref('event_taxonomy') }}

),

users as (

    select * from {{ ref('int_users') }}

),

events as (

    select * from {{ ref('int_events_resolved') }}
    where user_id is not null

),

onboarding_steps as (

    select
        onboarding_step_order as step_order,
        event_name as step_name

    from taxonomy
    where onboarding_step_order is not null

),

first_steps as (

    -- Each user's first occurrence of each step at or after signup_at (up to as_of).
    select
        users.user_id,
        onboarding_steps.step_order,
        min(events.occurred_at) as first_step_at

    from users
    inner join events on users.user_id = events.user_id
    inner join onboarding_steps on events.event_name = onboarding_steps.step_name
    where events.occurred_at >= users.signup_at
    group by users.user_id, onboarding_steps.step_order

),

completed_steps as (

    -- Steps first done within the onboarding window; the order of the steps does not matter.
    select
        first_steps.user_id,
        first_steps.step_order,
        {{ hours_between('users.signup_at', 'first_steps.first_step_at') }} as hours_to_step

    from first_steps
    inner join users on first_steps.user_id = users.user_id
    where
        {{ within_window_after('first_steps.first_step_at', 'users.signup_at', var('onboarding_window_days')) }}

),

step_completions as (

    select
        cohort_members.signup_week,
        cohort_members.segment_type,
        cohort_members.segment_value,
        completed_steps.step_order,
        count(*) as users_completed,
        {{ percentile_cont('completed_steps.hours_to_step', 0.5) }} as median_hours_to_step

    from cohort_members
    inner join completed_steps on cohort_members.user_id = completed_steps.user_id
    group by
        cohort_members.signup_week,
        cohort_members.segment_type,
        cohort_members.segment_value,
        completed_steps.step_order

),

cohort_steps as (

    -- The full grid: every onboarding step for every cohort and segment.
    select
        cohorts.signup_week,
        cohorts.segment_type,
        cohorts.segment_value,
        onboarding_steps.step_order,
        onboarding_steps.step_name,
        cohorts.signups,
        cohorts.latest_signup_at

    from cohorts
    cross join onboarding_steps

),

final as (

    select
        cohort_steps.signup_week,
        cohort_steps.segment_type,
        cohort_steps.segment_value,
        cohort_steps.step_order,
        cohort_steps.step_name,
        cohort_steps.signups,
        coalesce(step_completions.users_completed, 0) as users_completed,
        {{ safe_divide('coalesce(step_completions.users_completed, 0)', 'cohort_steps.signups') }}
            as completion_rate,
        cast(step_completions.median_hours_to_step as double) as median_hours_to_step,
        {{ cohort_window_complete('cohort_steps.latest_signup_at', var('onboarding_window_days')) }}
            as is_complete

    from cohort_steps
    left join step_completions
        on
            cohort_steps.signup_week = step_completions.signup_week
            and cohort_steps.segment_type = step_completions.segment_type
            and cohort_steps.segment_value = step_completions.segment_value
            and cohort_steps.step_order = step_completions.step_order

)

select * from final
