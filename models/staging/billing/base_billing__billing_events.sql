{{ config(materialized='view') }}

{#- Broken clocks (1970, 2099) are quarantined by rule: macros/valid_timestamps.sql. -#}
{%- set earliest = valid_timestamp_bounds()[0] -%}
{%- set latest = valid_timestamp_bounds()[1] -%}

-- Typed raw billing events with the quarantine rule each row breaks (null for good rows).
with

source as (

    select * from {{ raw_table('billing', 'billing_events') }}

),

fx_rates as (

    select * from {{ ref('fx_rates') }}

),

typed as (

    select
        cast(billing_event_id as string) as billing_event_id,
        cast(account_id as string) as account_id,
        cast(subscription_id as string) as subscription_id,
        cast(event_type as string) as event_type,
        cast(plan_id as string) as plan_id,
        cast(mrr_amount as decimal(18, 2)) as mrr_amount,
        upper(trim(cast(currency as string))) as currency,
        {{ utc_timestamp('occurred_at') }} as occurred_at,
        {{ utc_timestamp('received_at') }} as received_at,
        {{ raw_row_lineage() }}

    from source

),

with_fx_rate as (

    select
        typed.*,
        fx_rates.rate_to_reporting as fx_rate

    from typed
    left join fx_rates on typed.currency = fx_rates.currency

),

checked as (

    select
        *,
        {{ quarantine_rule(
            not_null=['billing_event_id', 'account_id', 'subscription_id', 'event_type',
                      'mrr_amount', 'currency', 'occurred_at', 'received_at'],
            rules=[
                ['received_at_out_of_range',
                 'received_at < ' ~ earliest ~ ' or received_at > ' ~ latest],
                ['occurred_at_out_of_range', 'occurred_at < ' ~ earliest],
                ['occurred_after_received',
                 'occurred_at > received_at + interval ' ~ var('max_clock_skew_hours') ~ ' hour'],
                ['invalid_event_type', 'event_type not in ' ~ sql_values(billing_event_types())],
                ['negative_mrr_amount', 'mrr_amount < 0'],
                ['unknown_currency', 'fx_rate is null'],
            ],
        ) }} as quarantine_rule

    from with_fx_rate

)

select * from checked
