-- Monthly user churn: of the users active in the previous month, how many were not active
-- in this one (the month's `dormant` users of int_user_lifecycle_states), for every month
-- from the one containing the first active day to the one containing as_of_date.
with

activity_periods as (

    select * from {{ ref('int_activity_periods') }}
    where granularity = 'month'

),

lifecycle_states as (

    select * from {{ ref('int_user_lifecycle_states') }}
    where granularity = 'month'

),

month_counts as (

    -- Users active in the previous month are this month's returning and dormant users.
    select
        period_start,
        sum(case when was_active_in_previous_period then 1 else 0 end) as active_users_previous_month,
        sum(case when lifecycle_state = 'dormant' then 1 else 0 end) as churned_users

    from lifecycle_states
    group by period_start

),

counts as (

    -- Every month of the grid, zeros included.
    select
        activity_periods.period_start,
        coalesce(month_counts.active_users_previous_month, 0) as active_users_previous_month,
        coalesce(month_counts.churned_users, 0) as churned_users,
        activity_periods.is_complete

    from activity_periods
    left join month_counts on activity_periods.period_start = month_counts.period_start

),

final as (

    select
        cast(period_start as date) as month,  -- noqa: RF04
        cast(active_users_previous_month as bigint) as active_users_previous_month,
        cast(churned_users as bigint) as churned_users,
        cast({{ safe_divide('churned_users', 'active_users_previous_month') }} as double) as user_churn_rate,
        cast(is_complete as boolean) as is_complete

    from counts

)

select * from final
