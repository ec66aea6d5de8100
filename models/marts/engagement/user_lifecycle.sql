-- Lifecycle counts per day, week and month (PostHog's lifecycle rules, see
-- int_user_lifecycle_states): new, returning, resurrected and dormant users of every period
-- from the one containing the first active day to the one containing as_of_date.
with

activity_periods as (

    select * from {{ ref('int_activity_periods') }}

),

lifecycle_states as (

    select * from {{ ref('int_user_lifecycle_states') }}

),

state_counts as (

    select
        granularity,
        period_start,
        sum(case when lifecycle_state = 'new' then 1 else 0 end) as new_users,
        sum(case when lifecycle_state = 'returning' then 1 else 0 end) as returning_users,
        sum(case when lifecycle_state = 'resurrected' then 1 else 0 end) as resurrected_users,
        sum(case when lifecycle_state = 'dormant' then 1 else 0 end) as dormant_users

    from lifecycle_states
    group by granularity, period_start

),

final as (

    -- Every period of the grid, zeros included.
    select
        cast(activity_periods.granularity as string) as granularity,
        cast(activity_periods.period_start as date) as period_start,
        cast(coalesce(state_counts.new_users, 0) as bigint) as new_users,
        cast(coalesce(state_counts.returning_users, 0) as bigint) as returning_users,
        cast(coalesce(state_counts.resurrected_users, 0) as bigint) as resurrected_users,
        cast(coalesce(state_counts.dormant_users, 0) as bigint) as dormant_users,
        cast(activity_periods.is_complete as boolean) as is_complete

    from activity_periods
    left join state_counts
        on
            activity_periods.granularity = state_counts.granularity
            and activity_periods.period_start = state_counts.period_start

)

select * from final
