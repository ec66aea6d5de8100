{{ config(materialized='view') }}

-- Typed raw ticket versions with the quarantine rule each row breaks (null for good rows).
with

source as (

    select * from {{ raw_table('support', 'support_tickets') }}

),

typed as (

    select
        cast(ticket_id as string) as ticket_id,
        cast(user_id as string) as user_id,
        cast(channel as string) as channel,
        cast(topic as string) as topic,
        cast(status as string) as status,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('first_response_at') }} as first_response_at,
        {{ utc_timestamp('solved_at') }} as solved_at,
        {{ utc_timestamp('updated_at') }} as updated_at,
        {{ raw_row_lineage() }}

    from source

),

checked as (

    select
        *,
        {{ quarantine_rule(
            not_null=['ticket_id', 'user_id', 'status', 'created_at', 'updated_at'],
            rules=[
                ['invalid_status', 'status not in ' ~ sql_values(ticket_statuses())],
                ['invalid_channel', 'channel not in ' ~ sql_values(ticket_channels())],
                ['solved_before_created', 'solved_at < created_at'],
            ],
        ) }} as quarantine_rule

    from typed

)

select * from checked
