-- One row per user and active day: a day (reporting timezone) on which the user has at least
-- one active event, on or after their signup date and on or before as_of_date.
with

events as (

    select * from {{ ref('int_events_resolved') }}
    where user_id is not null and is_active

),

users as (

    select * from {{ ref('int_users_as_of') }}

),

final as (

    select
        events.user_id,
        events.occurred_date as activity_date,
        count(*) as active_events,
        count(distinct case when events.category = 'core_feature' then events.event_name end)
            as distinct_core_features

    from events
    inner join users on events.user_id = users.user_id
    where
        events.occurred_date >= users.signup_date
        and events.occurred_date <= {{ as_of_date() }}
    group by events.user_id, events.occurred_date

)

select * from final
