-- Every user active in p-1 is either active in p (returning: active in p-1, so not signed up
-- in p) or not (dormant). So returning + dormant of p equals new + returning + resurrected
-- (the active users) of p-1. Returns the periods where it does not hold.
with

user_lifecycle as (

    select * from {{ ref('user_lifecycle') }}

),

with_previous as (

    select
        granularity,
        period_start,
        returning_users + dormant_users as previous_actives_seen_in_period,
        lag(new_users + returning_users + resurrected_users) over (
            partition by granularity order by period_start
        ) as active_users_previous_period

    from user_lifecycle

),

final as (

    select * from with_previous
    where
        active_users_previous_period is not null
        and previous_actives_seen_in_period <> active_users_previous_period

)

select * from final
