{{ config(materialized='view') }}

-- Typed raw user versions with the quarantine rule each row breaks (null for good rows).
with

source as (

    select * from {{ raw_table('app', 'users') }}

),

typed as (

    select
        cast(user_id as string) as user_id,
        cast(account_id as string) as account_id,
        cast(email as string) as email,
        cast(role as string) as role,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at,
        {{ utc_timestamp('deleted_at') }} as deleted_at,
        {{ raw_row_lineage() }}

    from source

),

checked as (

    select
        *,
        {{ quarantine_rule(not_null=['user_id', 'account_id', 'created_at', 'updated_at']) }}
            as quarantine_rule

    from typed

)

select * from checked
