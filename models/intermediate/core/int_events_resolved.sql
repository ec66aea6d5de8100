-- Good tracks rows up to the end of as_of_date, each resolved to a user (identity stitching)
-- and categorised by the event taxonomy. user_id is null for rows that map to no user.
-- A view: as long as the event table, it costs less to read where used than to write.
{{ config(materialized='view') }}

with

tracks as (

    select * from {{ ref('stg_product__tracks') }}
    where occurred_at < {{ as_of_end_at() }}

),

{{ as_of_identity_ctes() }},

taxonomy as (

    select * from {{ ref('event_taxonomy') }}

),

resolved as (

    select
        tracks.event_id,
        tracks.anonymous_id,
        -- A row's own user_id wins over its anonymous_id's mapping; a user_id that is not
        -- in users (at as_of) is no user.
        users.user_id,
        tracks.event_name,
        coalesce(taxonomy.category, 'uncategorized') as category,
        coalesce(taxonomy.is_active, true) as is_active,
        tracks.occurred_at,
        tracks.received_at,
        tracks.occurred_date,
        tracks.platform,
        tracks.utm_source,
        tracks.utm_medium,
        tracks.utm_campaign

    from tracks
    {{ join_resolved_users('tracks', users_join='left') }}
    left join taxonomy on tracks.event_name = taxonomy.event_name

)

select * from resolved
