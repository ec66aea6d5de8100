-- Anonymous id -> user id. The earliest good row (by occurred_at, then received_at, then
-- event_id) that carries both ids decides; stitched_at lets as-of models ignore mappings
-- that happen after their cut-off.
-- Incremental by anonymous_id: a run recomputes, from all of their rows, only the anonymous
-- ids that appear with a user_id in the tracks rows it loaded (stg_product__tracks rows of
-- the latest loaded_at); no other id's earliest stitching row can have changed.
{{ config(**keyed_incremental('anonymous_id')) }}

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
    -- Incremental: the filter reads the model itself, not the `tracks` CTE (a CTE read twice
    -- is materialized whole). The Jinja tags close their lines, so the clause lints the same
    -- whether or not the table exists (sqlfluff renders is_incremental() true once it does).
    where
        anonymous_id is not null and user_id is not null{% if is_incremental() %}
            and anonymous_id in (
                select latest.anonymous_id
                from {{ ref('stg_product__tracks') }} as latest
                where
                    {{ in_latest_batch(ref('stg_product__tracks')) }}
                    and latest.anonymous_id is not null
                    and latest.user_id is not null
            ){% endif %}

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
