-- The daily activity fact and dim_users agree: per user, the number of active days and the
-- first and last active dates are the same, and at most one day carries
-- reached_first_value_on_day. Returns every user where they differ.
with

activity_daily as (

    select * from {{ ref('fct_user_activity_daily') }}

),

dim_users as (

    select * from {{ ref('dim_users') }}

),

per_user as (

    select
        user_id,
        count(*) as active_days,
        min(activity_date) as first_active_date,
        max(activity_date) as last_active_date,
        count(case when reached_first_value_on_day then 1 end) as first_value_days

    from activity_daily
    group by user_id

),

final as (

    select
        dim_users.user_id,
        dim_users.active_days as dim_active_days,
        coalesce(per_user.active_days, 0) as fact_active_days,
        per_user.first_value_days

    from dim_users
    left join per_user on dim_users.user_id = per_user.user_id
    where
        dim_users.active_days != coalesce(per_user.active_days, 0)
        or dim_users.first_active_date is distinct from per_user.first_active_date
        or dim_users.last_active_date is distinct from per_user.last_active_date
        or coalesce(per_user.first_value_days, 0) > 1

)

select * from final
