-- The engagement marts count the same active users per period, each in its own way:
--   day:   active_users_daily.dau;
--   week:  the sum of stickiness_weekly.users over days_active;
--   day, week, month: activity_retention's cohort_size (period 0) where anyone was active;
-- all equal user_lifecycle's new + returning + resurrected, and user_churn_monthly's
-- active_users_previous_month equals the previous month's active users counted straight
-- from int_user_active_periods. Returns every period where two counts differ.
with

lifecycle_actives as (

    select
        granularity,
        period_start,
        new_users + returning_users + resurrected_users as active_users

    from {{ ref('user_lifecycle') }}

),

other_counts as (

    select
        'active_users_daily.dau' as mart_column,
        'day' as granularity,
        date as period_start,  -- noqa: RF04
        dau as active_users
    from {{ ref('active_users_daily') }}
    union all
    select
        'stickiness_weekly.users' as mart_column,
        'week' as granularity,
        week_start as period_start,
        sum(users) as active_users  -- noqa: RF04
    from {{ ref('stickiness_weekly') }}
    group by week_start
    union all
    select
        'activity_retention.cohort_size' as mart_column,
        granularity,
        cohort_start as period_start,
        cohort_size as active_users
    from {{ ref('activity_retention') }}
    where period_number = 0

),

lifecycle_mismatches as (

    select
        other_counts.mart_column,
        other_counts.granularity,
        other_counts.period_start,
        other_counts.active_users,
        lifecycle_actives.active_users as expected_active_users

    from other_counts
    left join lifecycle_actives
        on
            other_counts.granularity = lifecycle_actives.granularity
            and other_counts.period_start = lifecycle_actives.period_start
    where
        lifecycle_actives.active_users is null
        or other_counts.active_users <> lifecycle_actives.active_users

),

monthly_actives as (

    select
        period_start,
        count(distinct user_id) as active_users

    from {{ ref('int_user_active_periods') }}
    where granularity = 'month'
    group by period_start

),

churn_mismatches as (

    select
        'user_churn_monthly.active_users_previous_month' as mart_column,
        'month' as granularity,
        churn.month as period_start,  -- noqa: RF04
        churn.active_users_previous_month as active_users,
        coalesce(monthly_actives.active_users, 0) as expected_active_users

    from {{ ref('user_churn_monthly') }} as churn
    left join monthly_actives
        on {{ add_periods('month', -1, 'churn.month') }} = monthly_actives.period_start  -- noqa: RF04
    where churn.active_users_previous_month <> coalesce(monthly_actives.active_users, 0)

),

final as (

    select * from lifecycle_mismatches
    union all
    select * from churn_mismatches

)

select * from final
