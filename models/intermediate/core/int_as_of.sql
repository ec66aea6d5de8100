-- The as-of cut-off of this build, one row: var as_of_date when set, else the latest local
-- date of any good, deduplicated, active tracks row (mapped to a user or not), read from
-- the daily roll-up of tracks (the same dates and event names, far fewer rows).
with

tracks as (

    select * from {{ ref('int_identity_events_daily') }}

),

taxonomy as (

    select * from {{ ref('event_taxonomy') }}

),

latest_active_date as (

    select max(tracks.occurred_date) as as_of_date
    from tracks
    left join taxonomy on tracks.event_name = taxonomy.event_name
    -- Unknown event names count as activity (RAW_CONTRACT.md).
    where coalesce(taxonomy.is_active, true)

),

chosen as (

    {% if var('as_of_date') %}
        select cast('{{ var("as_of_date") }}' as date) as as_of_date
    {% else %}
        select as_of_date from latest_active_date
    {% endif %}

),

final as (

    select
        as_of_date,
        {{ local_midnight_utc(add_periods('day', 1, 'as_of_date')) }} as as_of_end_at,
        {{ sql_string(var("reporting_timezone")) }} as reporting_timezone

    from chosen

)

select * from final
