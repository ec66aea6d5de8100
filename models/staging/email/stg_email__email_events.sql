-- Good e-mail events, one per email_event_id (the earliest copy by occurred_at).
with

good_rows as (

    select * from {{ ref('base_email__email_events') }}
    where quarantine_rule is null

),

deduplicated as (

    {{ deduplicate(
        'good_rows',
        partition_by='email_event_id',
        order_by='occurred_at, user_id, campaign_id, event_type',
    ) }}

),

final as (

    select
        email_event_id,
        user_id,
        campaign_id,
        campaign_name,
        event_type,
        occurred_at,
        {{ local_date('occurred_at') }} as occurred_date

    from deduplicated

)

select * from final
