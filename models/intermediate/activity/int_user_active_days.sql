-- One row per user and active day: a day (reporting timezone) on which the user has at least
-- one active event, on or after their signup date and on or before as_of_date.
with

user_events as (

    select * from {{ ref('int_user_events_daily') }}
    where is_active

),

users as (

    select * from {{ ref('int_users_as_of') }}

),

final as (

    select
        user_events.user_id,
        user_events.occurred_date as activity_date,
        cast(sum(user_events.event_count) as bigint) as active_events,
        count(distinct case when user_events.category = 'core_feature' then user_events.event_name end)
            as distinct_core_features

    from user_events
    inner join users on user_events.user_id = users.user_id
    where user_events.occurred_date >= users.signup_date
    group by user_events.user_id, user_events.occurred_date

)

select * from final
