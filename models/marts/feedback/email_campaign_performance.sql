-- One row per e-mail campaign with an event before the end of as_of_date: users delivered,
-- users who opened (or clicked), users who clicked, users bounced and users unsubscribed
-- (every count is of distinct users), and the open, click-through and click-to-open rates.
with

email_events as (

    select * from {{ ref('stg_email__email_events') }}
    where occurred_at < {{ as_of_end_at() }}

),

named_events as (

    -- The campaign's latest non-null name (ties: the largest email_event_id).
    select
        campaign_id,
        campaign_name,
        row_number() over (
            partition by campaign_id
            order by occurred_at desc, email_event_id desc
        ) as name_rank

    from email_events
    where campaign_name is not null

),

campaign_names as (

    select
        campaign_id,
        campaign_name

    from named_events
    where name_rank = 1

),

campaign_counts as (

    select
        campaign_id,
        count(distinct case when event_type = 'delivered' then user_id end) as delivered,
        -- A click implies the e-mail was opened, tracked or not (image blocking).
        count(distinct case when event_type in ('opened', 'clicked') then user_id end) as unique_opens,
        count(distinct case when event_type = 'clicked' then user_id end) as unique_clicks,
        count(distinct case when event_type = 'bounced' then user_id end) as bounces,
        count(distinct case when event_type = 'unsubscribed' then user_id end) as unsubscribes

    from email_events
    group by campaign_id

),

final as (

    select
        campaign_counts.campaign_id,
        campaign_names.campaign_name,
        campaign_counts.delivered,
        campaign_counts.unique_opens,
        campaign_counts.unique_clicks,
        {{ safe_divide('campaign_counts.unique_opens', 'campaign_counts.delivered') }} as open_rate,
        {{ safe_divide('campaign_counts.unique_clicks', 'campaign_counts.delivered') }} as click_through_rate,
        {{ safe_divide('campaign_counts.unique_clicks', 'campaign_counts.unique_opens') }} as click_to_open_rate,
        campaign_counts.bounces,
        campaign_counts.unsubscribes

    from campaign_counts
    left join campaign_names on campaign_counts.campaign_id = campaign_names.campaign_id

)

select * from final
