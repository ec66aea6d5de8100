-- Good tracks rows, one per event_id: the earliest received copy wins.
with

good_rows as (

    select * from {{ ref('base_product__tracks') }}
    where quarantine_rule is null

),

deduplicated as (

    {{ deduplicate(
        'good_rows',
        partition_by='event_id',
        order_by='received_at, occurred_at, user_id nulls last, anonymous_id nulls last, event_name',
    ) }}

),

final as (

    select
        event_id,
        anonymous_id,
        user_id,
        event_name,
        occurred_at,
        received_at,
        {{ local_date('occurred_at') }} as occurred_date,
        platform,
        utm_source,
        utm_medium,
        utm_campaign,
        properties

    from deduplicated

)

select * from final
