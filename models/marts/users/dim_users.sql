-- One row per user existing at as_of_date: the shared user attributes of int_users plus the
-- adoption stage, evaluated at as_of_date (METRICS.md, precise reading 7).
with

users as (

    select * from {{ ref('int_users') }}

),

active_days as (

    select * from {{ ref('int_user_active_days') }}

),

core_feature_events as (

    {{ user_events_since_signup("events.category = 'core_feature'") }}

),

recent_activity as (

    -- Active days in the last 28 local days (as_of-27..as_of) and how many of the four
    -- 7-day windows ending at as_of_date (days back 0-6, 7-13, 14-20, 21-27) hold one.
    select
        user_id,
        count(*) as active_days_last_28,
        count(distinct floor({{ days_before_as_of('activity_date') }} / 7.0)) as active_windows_last_28

    from active_days
    where {{ within_days_before_as_of('activity_date', 0, 27) }}
    group by user_id

),

recent_core_features as (

    select
        user_id,
        count(distinct event_name) as core_features_last_28

    from core_feature_events
    where {{ within_days_before_as_of('occurred_date', 0, 27) }}
    group by user_id

),

joined as (

    select
        users.*,
        coalesce(recent_activity.active_days_last_28, 0) as active_days_last_28,
        coalesce(recent_activity.active_windows_last_28, 0) as active_windows_last_28,
        coalesce(recent_core_features.core_features_last_28, 0) as core_features_last_28

    from users
    left join recent_activity on users.user_id = recent_activity.user_id
    left join recent_core_features on users.user_id = recent_core_features.user_id

),

final as (

    select
        user_id,
        account_id,
        signup_at,
        signup_date,
        signup_week,
        signup_month,
        persona,
        channel,
        utm_source,
        utm_medium,
        utm_campaign,
        email_hash,
        is_deleted,
        activated_at,
        is_activated,
        first_value_at,
        ttv_hours,
        first_active_date,
        last_active_date,
        active_days,
        -- The first rule that holds wins.
        case
            when is_churned then 'churned'
            when active_windows_last_28 = 4 and core_features_last_28 >= 3 then 'adopted'
            when first_value_at is not null and active_days_last_28 >= 4 then 'engaged'
            when first_value_at is not null then 'first_value'
            else 'onboarding'
        end as adoption_stage,
        churned_date,
        is_churned

    from joined

)

select * from final
