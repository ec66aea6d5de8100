-- Event names in good tracks rows that the event_taxonomy seed does not know. They are kept
-- (categorised uncategorized, counted as activity); the command line warns with this list.
with

tracks as (

    select * from {{ ref('stg_product__tracks') }}

),

taxonomy as (

    select * from {{ ref('event_taxonomy') }}

),

final as (

    select
        tracks.event_name,
        count(*) as events,
        min(tracks.occurred_at) as first_seen_at,
        max(tracks.occurred_at) as last_seen_at

    from tracks
    left join taxonomy on tracks.event_name = taxonomy.event_name
    where taxonomy.event_name is null
    group by tracks.event_name

)

select * from final
