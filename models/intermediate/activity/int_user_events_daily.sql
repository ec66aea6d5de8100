-- One row per user, local date and event name up to as_of_date: the daily roll-up of tracks
-- (int_identity_events_daily) resolved to users exactly as int_events_resolved resolves
-- single events. A row's own user_id wins; a row with only an anonymous_id takes the user
-- of that anonymous_id's earliest stitching row if stitched before the cut-off; a user_id
-- not in users at as_of is no user (dropped here). Marts that count events per day read
-- this instead of the event-level view.
with

identity_days as (

    select * from {{ ref('int_identity_events_daily') }}
    -- The local date is on or before as_of_date exactly when the event is before the
    -- end of it (as_of_end_at is local midnight after as_of_date).
    where occurred_date <= {{ as_of_date() }}

),

{{ as_of_identity_ctes() }},

taxonomy as (

    select * from {{ ref('event_taxonomy') }}

),

resolved as (

    select
        users.user_id,
        identity_days.occurred_date,
        identity_days.event_name,
        identity_days.event_count

    from identity_days
    {{ join_resolved_users('identity_days', users_join='inner') }}

),

final as (

    select
        resolved.user_id,
        resolved.occurred_date,
        resolved.event_name,
        coalesce(taxonomy.category, 'uncategorized') as category,
        coalesce(taxonomy.is_active, true) as is_active,
        cast(sum(resolved.event_count) as bigint) as event_count

    from resolved
    left join taxonomy on resolved.event_name = taxonomy.event_name
    group by
        resolved.user_id,
        resolved.occurred_date,
        resolved.event_name,
        coalesce(taxonomy.category, 'uncategorized'),
        coalesce(taxonomy.is_active, true)

)

select * from final
