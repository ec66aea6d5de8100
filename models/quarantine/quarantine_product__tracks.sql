-- Raw tracks rows that break a rule of the raw contract, with the rule (never in staging).
-- Incremental like stg_product__tracks: a run re-checks the received dates from the
-- lookback on, plus every row without a received_at (they belong to no received date, so
-- their partition is rebuilt whole each run; there are few).
{{ config(**date_partitioned_incremental('load_partition')) }}

with

bad_rows as (

    select * from {{ ref('base_product__tracks') }}
    where quarantine_rule is not null

),

reloaded as (

    select
        *,
        coalesce(cast(received_at as date), cast('1970-01-01' as date)) as load_partition

    from bad_rows
    {% if is_incremental() %}
        -- Two branches rather than one `or`, so the window reaches the Parquet scan.
        where received_at >= cast({{ reload_from_received_date('load_partition') }} as timestamp)

        union all

        select
            *,
            cast('1970-01-01' as date) as load_partition

        from bad_rows
        where received_at is null
    {% endif %}

)

select * from reloaded
