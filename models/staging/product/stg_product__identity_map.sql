-- Anonymous id -> user id. The earliest good row (by occurred_at, then received_at, then
-- event_id) that carries both ids decides; stitched_at lets as-of models ignore mappings
-- that happen after their cut-off.
with

tracks as (

    select * from {{ ref('stg_product__tracks') }}

),

stitching_rows as (

    select
        anonymous_id,
        user_id,
        occurred_at,
        received_at,
        event_id

    from tracks
    where anonymous_id is not null and user_id is not null

),

earliest as (

    {{ deduplicate(
        'stitching_rows',
        partition_by='anonymous_id',
        order_by='occurred_at, received_at, event_id',
    ) }}

),

final as (

    select
        anonymous_id,
        user_id,
        occurred_at as stitched_at,
        event_id as stitching_event_id

    from earliest

)

select * from final
