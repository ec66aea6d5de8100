-- One row per core_feature or value event of the taxonomy: how much more often the users
-- who did it in their first week (days 0..6 after signup) are retained (active on any of
-- days 28..34) than those who did not. Population: users signed up on or before
-- as_of_date - 35, whose days 0..34 are all over.
with

taxonomy as (

    select * from {{ ref('event_taxonomy') }}
    where category in ('core_feature', 'value')

),

users as (

    select * from {{ ref('int_users') }}

),

active_days as (

    select * from {{ ref('int_user_active_days') }}

),

candidate_events as (

    {{ user_events_since_signup("events.category in ('core_feature', 'value')") }}

),

population as (

    select
        user_id,
        signup_date

    from users
    where signup_date <= {{ add_periods('day', -35, as_of_date()) }}

),

retained_users as (

    select distinct active_days.user_id

    from active_days
    inner join population on active_days.user_id = population.user_id
    where {{ days_between('population.signup_date', 'active_days.activity_date') }} between 28 and 34

),

population_retention as (

    select
        population.user_id,
        retained_users.user_id is not null as is_retained

    from population
    left join retained_users on population.user_id = retained_users.user_id

),

population_totals as (

    select
        count(*) as population_users,
        count(case when is_retained then 1 end) as retained_users

    from population_retention

),

first_week_doers as (

    -- Each population user once per candidate event done on days 0..6 after signup.
    select distinct
        candidate_events.event_name,
        population_retention.user_id,
        population_retention.is_retained

    from candidate_events
    inner join population_retention on candidate_events.user_id = population_retention.user_id
    where candidate_events.days_since_signup between 0 and 6

),

event_doers as (

    select
        event_name,
        count(*) as users_did,
        count(case when is_retained then 1 end) as retained_users_did

    from first_week_doers
    group by event_name

),

counts as (

    select
        taxonomy.event_name,
        taxonomy.category as event_category,
        coalesce(event_doers.users_did, 0) as users_did,
        population_totals.population_users - coalesce(event_doers.users_did, 0) as users_did_not,
        coalesce(event_doers.retained_users_did, 0) as retained_users_did,
        population_totals.retained_users - coalesce(event_doers.retained_users_did, 0)
            as retained_users_did_not,
        population_totals.retained_users,
        population_totals.population_users - population_totals.retained_users as not_retained_users

    from taxonomy
    cross join population_totals
    left join event_doers on taxonomy.event_name = event_doers.event_name

),

rates as (

    select
        *,
        {{ safe_divide('retained_users_did', 'users_did') }} as retention_if_did,
        {{ safe_divide('retained_users_did_not', 'users_did_not') }} as retention_if_not,
        {{ safe_divide('retained_users_did', 'retained_users') }} as share_of_retained_who_did,
        {{ safe_divide('users_did - retained_users_did', 'not_retained_users') }}
            as share_of_not_retained_who_did

    from counts

),

final as (

    select
        event_name,
        event_category,
        users_did,
        users_did_not,
        retention_if_did,
        retention_if_not,
        {{ safe_divide('retention_if_did', 'retention_if_not') }} as lift,
        share_of_retained_who_did,
        share_of_not_retained_who_did

    from rates

)

select * from final
