-- Good tracks rows rolled up per identity as sent (user_id, anonymous_id), local occurred
-- date and event name. This is where the cost grows with raw events, so it is incremental:
-- a run rebuilds the occurred dates that the reloaded tracks rows touch (a late event
-- rebuilds the old day it happened on) and keeps every other day. Identity stitching,
-- users and the as-of cut-off are applied downstream, on this much smaller table, so a
-- later stitch or user change never leaves a stale row here.
{{ config(**date_partitioned_incremental('occurred_date')) }}

with

tracks as (

    select
        user_id,
        anonymous_id,
        occurred_date,
        event_name,
        occurred_at,
        received_date

    from {{ ref('stg_product__tracks') }}

),

{% if is_incremental() %}
    reloaded_dates as (

        select distinct occurred_date
        from tracks
        where received_date >= {{ reload_from_received_date('latest_received_date') }}

    ),
{% endif %}

final as (

    select
        user_id,
        anonymous_id,
        occurred_date,
        event_name,
        count(*) as event_count,
        min(occurred_at) as first_occurred_at,
        max(received_date) as latest_received_date

    from tracks
    {% if is_incremental() %}
        where occurred_date in (select reloaded_dates.occurred_date from reloaded_dates)
    {% endif %}
    group by user_id, anonymous_id, occurred_date, event_name

)

select * from final
