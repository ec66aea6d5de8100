-- Activation by signup week, for the (all, all) row set and each persona and channel:
-- signups, users activated (int_users.is_activated: every activation event within
-- activation_window_days x 24 h of signup_at) and whether every member's window is over.
with

cohort_members as (

    {{ signup_week_cohort_members(columns=['is_activated']) }}

),

cohorts as (

    {{ signup_week_cohorts('cohort_members') }}

),

activations as (

    select
        signup_week,
        segment_type,
        segment_value,
        count(case when is_activated then user_id end) as activated_users

    from cohort_members
    group by signup_week, segment_type, segment_value

),

final as (

    select
        cohorts.signup_week,
        cohorts.segment_type,
        cohorts.segment_value,
        cohorts.signups,
        activations.activated_users,
        {{ safe_divide('activations.activated_users', 'cohorts.signups') }} as activation_rate,
        {{ cohort_window_complete('cohorts.latest_signup_at', var('activation_window_days')) }} as is_complete

    from cohorts
    inner join activations
        on
            cohorts.signup_week = activations.signup_week
            and cohorts.segment_type = activations.segment_type
            and cohorts.segment_value = activations.segment_value

)

select * from final
