-- Good tracks rows up to the end of as_of_date, each resolved to a user (identity stitching)
-- and categorised by the event taxonomy. user_id is null for rows that map to no user.
with

tracks as (

    select * from {{ ref('stg_product__tracks') }}
    where occurred_at < {{ as_of_end_at() }}

),

identity_map as (

    select * from {{ ref('stg_product__identity_map') }}
    -- A mapping first seen after the cut-off does not exist yet at as_of.
    where stitched_at < {{ as_of_end_at() }}

),

users as (

    select user_id from {{ ref('int_users_as_of') }}

),

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
    left join identity_map
        on
            tracks.user_id is null
            and tracks.anonymous_id = identity_map.anonymous_id
    left join users
        on coalesce(tracks.user_id, identity_map.user_id) = users.user_id
    left join taxonomy on tracks.event_name = taxonomy.event_name

)

select * from resolved
