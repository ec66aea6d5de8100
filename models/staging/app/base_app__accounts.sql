{{ config(materialized='view') }}

-- Typed raw account versions with the quarantine rule each row breaks (null for good rows).
with

source as (

    select * from {{ raw_table('app', 'accounts') }}

),

typed as (

    select
        cast(account_id as string) as account_id,
        cast(account_name as string) as account_name,
        cast(company_size as bigint) as company_size,
        cast(industry as string) as industry,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at,
        {{ raw_row_lineage() }}

    from source

),

checked as (

    select
        *,
        {{ quarantine_rule(not_null=['account_id', 'created_at', 'updated_at']) }} as quarantine_rule

    from typed

)

select * from checked
