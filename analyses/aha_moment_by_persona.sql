-- Aha-moment drill-down: for each persona and each candidate event, day-28..34 retention
-- of users who did the event in their first 7 days against those who did not (the
-- definitions of aha_moment_candidates, split by persona). Read: a lift that holds in
-- every persona is a product truth; one that holds in a single persona is a segment story.
with

users as (

    select * from {{ ref('dim_users') }}

),

activity as (

    select * from {{ ref('fct_user_activity_daily') }}

),

events as (

    select * from {{ ref('int_events_resolved') }}
    where category in ('core_feature', 'value') and user_id is not null

),

as_of as (

    select * from {{ ref('int_as_of') }}

),

population as (

    select
        users.user_id,
        users.persona,
        users.signup_date
    from users
    cross join as_of
    where users.signup_date <= {{ add_periods('day', -35, 'as_of.as_of_date') }}

),

retained as (

    select distinct population.user_id
    from population
    inner join activity
        on
            population.user_id = activity.user_id
            and activity.activity_date
            between {{ add_periods('day', 28, 'population.signup_date') }}
            and {{ add_periods('day', 34, 'population.signup_date') }}

),

early_events as (

    select distinct
        population.user_id,
        events.event_name
    from population
    inner join events
        on
            population.user_id = events.user_id
            and events.occurred_date
            between population.signup_date
            and {{ add_periods('day', 6, 'population.signup_date') }}

),

candidates as (

    select distinct event_name from events

),

user_event_grid as (

    select
        population.user_id,
        population.persona,
        candidates.event_name,
        early_events.user_id is not null as did_event,
        retained.user_id is not null as is_retained
    from population
    cross join candidates
    left join early_events
        on
            population.user_id = early_events.user_id
            and candidates.event_name = early_events.event_name
    left join retained on population.user_id = retained.user_id

),

final as (

    select
        persona,
        event_name,
        sum(case when did_event then 1 else 0 end) as users_did,
        sum(case when not did_event then 1 else 0 end) as users_did_not,
        avg(case when did_event then cast(is_retained as integer) end) as retention_if_did,
        avg(case when not did_event then cast(is_retained as integer) end) as retention_if_not
    from user_event_grid
    group by persona, event_name

)

select
    *,
    retention_if_did / nullif(retention_if_not, 0) as lift
from final
order by persona asc, lift desc
