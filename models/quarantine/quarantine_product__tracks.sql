-- Raw tracks rows that break a rule of the raw contract, with the rule (never in staging).
-- Incremental like stg_product__tracks: a run re-checks the received dates from the
-- lookback on, plus every row without a plausible received_at (null, before
-- earliest_valid_date or after this build: they belong to no received date, so their
-- partition is rebuilt whole each run; there are few, and a 2099 clock must not move the
-- reload watermark of this table).
{{ config(**date_partitioned_incremental('load_partition')) }}
{%- set earliest = valid_timestamp_bounds()[0] -%}
{%- set latest = valid_timestamp_bounds()[1] -%}
{%- set no_received_date = 'received_at is null or received_at < ' ~ earliest
    ~ ' or received_at > ' ~ latest -%}

with

bad_rows as (

    select * from {{ ref('base_product__tracks') }}
    where quarantine_rule is not null

),

reloaded as (

    select
        *,
        case
            when {{ no_received_date }} then cast('1970-01-01' as date)
            else cast(received_at as date)
        end as load_partition

    from bad_rows
    {% if is_incremental() %}
        -- Two branches rather than one `or`, so the window reaches the Parquet scan.
        where
            received_at >= cast({{ reload_from_received_date('load_partition') }} as timestamp)
            and received_at >= {{ earliest }}
            and received_at <= {{ latest }}

        union all

        select
            *,
            cast('1970-01-01' as date) as load_partition

        from bad_rows
        where {{ no_received_date }}
    {% endif %}

)

select * from reloaded
