-- account_health has one row for every dim_accounts row, with the same current_mrr,
-- is_paying and persona, and user counts equal to dim_accounts.users.
with

health as (

    select * from {{ ref('account_health') }}

),

accounts as (

    select * from {{ ref('dim_accounts') }}

)

select coalesce(health.account_id, accounts.account_id) as account_id

from health
full outer join accounts on health.account_id = accounts.account_id
where
    health.account_id is null
    or accounts.account_id is null
    or health.current_mrr <> accounts.current_mrr
    or health.is_paying <> accounts.is_paying
    or health.persona <> accounts.persona
    or health.users <> accounts.users
