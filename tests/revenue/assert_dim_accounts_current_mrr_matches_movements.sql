-- dim_accounts.current_mrr is the as_of month's ending_mrr: their total equals the ending_mrr
-- of the as_of month in mrr_movements_monthly (0 when there is no billing), and every
-- account of fct_account_mrr_monthly agrees with dim_accounts.
with

accounts as (

    select * from {{ ref('dim_accounts') }}

),

account_months as (

    select * from {{ ref('fct_account_mrr_monthly') }}
    where month = {{ period_start('month', as_of_date()) }}

),

movements as (

    select * from {{ ref('mrr_movements_monthly') }}
    where month = {{ period_start('month', as_of_date()) }}

),

account_mismatches as (

    select accounts.account_id

    from accounts
    inner join account_months on accounts.account_id = account_months.account_id
    where accounts.current_mrr <> account_months.ending_mrr

),

total_mismatch as (

    select 'total' as account_id
    where
        (select sum(current_mrr) from accounts)
        <> coalesce((select sum(ending_mrr) from movements), 0)

),

final as (

    select * from account_mismatches
    union all
    select * from total_mismatch

)

select * from final
