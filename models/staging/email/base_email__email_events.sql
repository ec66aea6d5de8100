{{ config(materialized='view') }}

-- Typed raw e-mail events with the quarantine rule each row breaks (null for good rows).
with

source as (

    select * from {{ raw_table('email', 'email_events') }}

),

typed as (

    select
        cast(email_event_id as string) as email_event_id,
        cast(user_id as string) as user_id,
        cast(campaign_id as string) as campaign_id,
        cast(campaign_name as string) as campaign_name,
        cast(event_type as string) as event_type,
        {{ utc_timestamp('occurred_at') }} as occurred_at,
        {{ raw_row_lineage() }}

    from source

),

checked as (

    select
        *,
        {{ quarantine_rule(
            not_null=['email_event_id', 'user_id', 'campaign_id', 'event_type', 'occurred_at'],
            rules=[['invalid_event_type', 'event_type not in ' ~ sql_values(email_event_types())]],
        ) }} as quarantine_rule

    from typed

)

select * from checked
