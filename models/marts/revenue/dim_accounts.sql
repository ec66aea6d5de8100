-- One row per account known at as_of_date: every account of the accounts table as of then,
-- plus any account id that users or billing events (as of then) name but the accounts
-- table does not (yet) hold, so that every user and every billed account has its row.
with

accounts as (

    select * from {{ ref('int_accounts_as_of') }}

),

users as (

    select * from {{ ref('int_users') }}

),

billing_events as (

    select * from {{ ref('int_billing_events_as_of') }}

),

current_month_mrr as (

    -- The as_of month's month-end MRR is taken at the end of as_of_date.
    select * from {{ ref('int_account_mrr_monthly') }}
    where month = {{ period_start('month', as_of_date()) }}

),

account_ids as (

    select account_id from accounts
    union distinct
    select account_id from users
    union distinct
    select account_id from billing_events

),

user_counts as (

    select
        account_id,
        count(*) as users  -- noqa: RF04

    from users
    group by account_id

),

first_paid as (

    -- The first instant the account's MRR rose above 0: its first billing event with
    -- mrr_amount > 0 that gave a subscription's state (not one beaten by a tie).
    select
        account_id,
        min(occurred_at) as first_paid_at

    from billing_events
    where mrr_amount > 0 and is_effective
    group by account_id

),

final as (

    select
        account_ids.account_id,
        accounts.account_name,
        coalesce(accounts.persona, 'unknown') as persona,
        accounts.created_at,
        coalesce(user_counts.users, 0) as users,  -- noqa: RF04
        first_paid.first_paid_at,
        cast(coalesce(current_month_mrr.ending_mrr, 0) as {{ mrr_type() }}) as current_mrr,
        coalesce(current_month_mrr.ending_mrr, 0) > 0 as is_paying

    from account_ids
    left join accounts on account_ids.account_id = accounts.account_id
    left join user_counts on account_ids.account_id = user_counts.account_id
    left join first_paid on account_ids.account_id = first_paid.account_id
    left join current_month_mrr on account_ids.account_id = current_month_mrr.account_id

)

select * from final
