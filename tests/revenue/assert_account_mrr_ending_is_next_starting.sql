-- fct_account_mrr_monthly: per account, months run without gaps to the month of as_of_date
-- and each month's ending_mrr is the next month's starting_mrr; the first month starts at 0.
with

account_months as (

    select * from {{ ref('fct_account_mrr_monthly') }}

),

linked as (

    select
        account_months.account_id,
        account_months.month,
        account_months.starting_mrr,
        account_months.ending_mrr,
        next_month.month as next_month,
        next_month.starting_mrr as next_starting_mrr,
        previous_month.month as previous_month

    from account_months
    left join account_months as next_month
        on
            account_months.account_id = next_month.account_id
            and next_month.month = {{ add_periods('month', 1, 'account_months.month') }}
    left join account_months as previous_month
        on
            account_months.account_id = previous_month.account_id
            and previous_month.month = {{ add_periods('month', -1, 'account_months.month') }}

),

final as (

    select *
    from linked
    where
        (next_month is null and month <> {{ period_start('month', as_of_date()) }})
        or (next_month is not null and ending_mrr <> next_starting_mrr)
        or (previous_month is null and starting_mrr <> 0)

)

select * from final
