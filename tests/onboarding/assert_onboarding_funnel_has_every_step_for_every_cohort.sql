-- onboarding_funnel has exactly one row per onboarding step of the event taxonomy for every
-- cohort and segment of activation_cohorts (the same signup-week cohorts), and no other.
-- Returns every cohort and segment whose steps differ.
with

funnel as (

    select * from {{ ref('onboarding_funnel') }}

),

cohorts as (

    select * from {{ ref('activation_cohorts') }}

),

taxonomy as (

    select * from {{ ref('event_taxonomy') }}

),

onboarding_steps as (

    select
        onboarding_step_order as step_order,
        event_name as step_name

    from taxonomy
    where onboarding_step_order is not null

),

expected as (

    select
        cohorts.signup_week,
        cohorts.segment_type,
        cohorts.segment_value,
        cohorts.signups,
        onboarding_steps.step_order,
        onboarding_steps.step_name

    from cohorts
    cross join onboarding_steps

),

final as (

    select
        coalesce(expected.signup_week, funnel.signup_week) as signup_week,
        coalesce(expected.segment_type, funnel.segment_type) as segment_type,
        coalesce(expected.segment_value, funnel.segment_value) as segment_value,
        coalesce(expected.step_order, funnel.step_order) as step_order,
        expected.step_name as expected_step_name,
        funnel.step_name as funnel_step_name,
        expected.signups as expected_signups,
        funnel.signups as funnel_signups

    from expected
    full outer join funnel
        on
            expected.signup_week = funnel.signup_week
            and expected.segment_type = funnel.segment_type
            and expected.segment_value = funnel.segment_value
            and expected.step_order = funnel.step_order

)

select * from final
where
    expected_step_name is null
    or funnel_step_name is null
    or expected_step_name != funnel_step_name
    or expected_signups != funnel_signups
