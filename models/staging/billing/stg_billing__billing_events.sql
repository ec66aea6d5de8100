-- Good billing events, one per billing_event_id (the earliest received copy), with MRR in
-- the reporting currency beside the original.
with

good_rows as (

    select * from {{ ref('base_billing__billing_events') }}
    where quarantine_rule is null

),

deduplicated as (

    {{ deduplicate(
        'good_rows',
        partition_by='billing_event_id',
        order_by='received_at, occurred_at, account_id, subscription_id, event_type, mrr_amount',
    ) }}

),

final as (

    select
        billing_event_id,
        account_id,
        subscription_id,
        event_type,
        plan_id,
        mrr_amount,
        currency,
        fx_rate,
        mrr_amount * fx_rate as mrr_amount_reporting,
        occurred_at,
        received_at,
        {{ local_date('occurred_at') }} as occurred_date

    from deduplicated

)

select * from final
