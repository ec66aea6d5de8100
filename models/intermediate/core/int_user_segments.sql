-- One row per user and segment they belong to: (all, all), (persona, <persona>) and
-- (channel, <first-touch channel>). Segmented marts join this, so segment rows always
-- partition the `all` row.
with

users as (

    select * from {{ ref('int_users') }}

),

final as (

    select
        user_id,
        'all' as segment_type,
        'all' as segment_value
    from users
    union all
    select
        user_id,
        'persona' as segment_type,
        persona as segment_value
    from users
    union all
    select
        user_id,
        'channel' as segment_type,
        channel as segment_value
    from users

)

select * from final
