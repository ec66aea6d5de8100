-- One row per user and active day (int_user_active_days), flagging the day on which the user
-- reached first value (the local date of first_value_at).
with

active_days as (

    select * from {{ ref('int_user_active_days') }}

),

users as (

    select * from {{ ref('int_users') }}

),

final as (

    select
        active_days.user_id,
        active_days.activity_date,
        active_days.active_events,
        active_days.distinct_core_features,
        coalesce(
            {{ local_date('users.first_value_at') }} = active_days.activity_date, false
        ) as reached_first_value_on_day

    from active_days
    left join users on active_days.user_id = users.user_id

)

select * from final
