-- Good billing events that occurred before the end of as_of_date, each with the instant at
-- which the next event of the same subscription replaces it as the subscription's state.
-- Every revenue model reads billing from here, so the as-of cut-off and the tie rule of
-- METRICS.md precise reading 10 live in one place.
with

billing_events as (

    select * from {{ ref('stg_billing__billing_events') }}
    where occurred_at < {{ as_of_end_at() }}

),

sequenced as (

    select
        *,
        -- Ties on occurred_at: the latest received_at, then the largest billing_event_id
        -- gives the state, so it sorts last; the tied events before it are superseded at
        -- their own occurred_at and never give the state.
        lead(occurred_at) over (
            partition by account_id, subscription_id
            order by occurred_at, received_at, billing_event_id
        ) as superseded_at

    from billing_events

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
        cast(mrr_amount_reporting as {{ mrr_type() }}) as mrr_amount_reporting,
        occurred_at,
        received_at,
        occurred_date,
        superseded_at,
        coalesce(superseded_at > occurred_at, true) as is_effective

    from sequenced

)

select * from final
