-- aha_moment_candidates has one row for every core_feature or value event of the taxonomy
-- (and no other), and every row splits the same population (users_did + users_did_not).
-- Returns the events that break it.
with

taxonomy as (

    select * from {{ ref('event_taxonomy') }}
    where category in ('core_feature', 'value')

),

candidates as (

    select * from {{ ref('aha_moment_candidates') }}

),

missing_or_extra as (

    select
        coalesce(taxonomy.event_name, candidates.event_name) as event_name,
        'row missing, extra or with the wrong category' as problem

    from taxonomy
    full outer join candidates on taxonomy.event_name = candidates.event_name
    where
        taxonomy.event_name is null
        or candidates.event_name is null
        or taxonomy.category != candidates.event_category

),

population_sizes as (

    select count(distinct users_did + users_did_not) as sizes
    from candidates

),

uneven_population as (

    select
        'all events' as event_name,
        'users_did + users_did_not differs between events' as problem

    from population_sizes
    where sizes > 1

),

final as (

    select * from missing_or_extra
    union all
    select * from uneven_population

)

select * from final
