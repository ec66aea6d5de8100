{{ config(materialized='view') }}
{#- Device and loader clocks outside these bounds are broken (1970, 2099): such a row is
    quarantined with its rule instead of stopping the run. The latest plausible received_at
    is this build's start plus the clock-skew allowance. -#}
{%- set earliest = valid_timestamp_bounds()[0] -%}
{%- set latest = valid_timestamp_bounds()[1] -%}

-- Typed raw tracks with the quarantine rule each row breaks (null for good rows).
-- The columns are cast straight off the raw relation (no `select *` step in between) so
-- that DuckDB pushes the incremental models' received_at window into the Parquet scan.
with

typed as (

    select
        cast(event_id as string) as event_id,
        cast(anonymous_id as string) as anonymous_id,
        cast(user_id as string) as user_id,
        cast(event_name as string) as event_name,
        {{ utc_timestamp('occurred_at') }} as occurred_at,
        {{ utc_timestamp('received_at') }} as received_at,
        cast(platform as string) as platform,
        cast(utm_source as string) as utm_source,
        cast(utm_medium as string) as utm_medium,
        cast(utm_campaign as string) as utm_campaign,
        cast(properties as string) as properties,
        {{ raw_row_lineage() }}

    from {{ raw_table('product', 'tracks') }}

),

checked as (

    select
        *,
        {{ quarantine_rule(
            not_null=['event_id', 'event_name', 'occurred_at', 'received_at'],
            rules=[
                ['received_at_out_of_range',
                 'received_at < ' ~ earliest ~ ' or received_at > ' ~ latest],
                ['occurred_at_out_of_range', 'occurred_at < ' ~ earliest],
                ['missing_user_and_anonymous_id', 'user_id is null and anonymous_id is null'],
                ['occurred_after_received',
                 'occurred_at > received_at + interval ' ~ var('max_clock_skew_hours') ~ ' hour'],
            ],
        ) }} as quarantine_rule

    from typed

)

select * from checked
