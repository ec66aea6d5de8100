-- Per month, the accounts' starting and ending MRR in fct_account_mrr_monthly add up exactly
-- to mrr_movements_monthly, and both have the same months.
with

account_months as (

    select * from {{ ref('fct_account_mrr_monthly') }}

),

movements as (

    select * from {{ ref('mrr_movements_monthly') }}

),

account_totals as (

    select
        month,
        sum(starting_mrr) as starting_mrr,
        sum(ending_mrr) as ending_mrr

    from account_months
    group by month

),

final as (

    select
        coalesce(account_totals.month, movements.month) as failing_month,
        account_totals.ending_mrr as account_ending_mrr,
        movements.ending_mrr as movements_ending_mrr

    from account_totals
    full outer join movements on account_totals.month = movements.month
    where
        account_totals.month is null
        or movements.month is null
        or account_totals.ending_mrr <> movements.ending_mrr
        or account_totals.starting_mrr <> movements.starting_mrr

)

select * from final
