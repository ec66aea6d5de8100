-- One row per month from the first billing month to the month of as_of_date: the MRR
-- bridge from the previous month end to this one, built from the account movements.
with

account_months as (

    select * from {{ ref('fct_account_mrr_monthly') }}

),

monthly as (

    -- The account that billed first has a row for every month up to as_of, so grouping
    -- yields every month of the range.
    select
        month,
        sum(starting_mrr) as starting_mrr,
        sum(case when movement = 'new' then mrr_change else 0 end) as new_mrr,
        sum(case when movement = 'expansion' then mrr_change else 0 end) as expansion_mrr,
        sum(case when movement = 'contraction' then -mrr_change else 0 end) as contraction_mrr,
        sum(case when movement = 'churn' then starting_mrr else 0 end) as churned_mrr,
        sum(case when movement = 'reactivation' then mrr_change else 0 end) as reactivation_mrr,
        sum(ending_mrr) as ending_mrr,
        count(case when starting_mrr > 0 then account_id end) as paying_accounts_start,
        count(case when movement = 'new' then account_id end) as new_accounts,
        count(case when movement = 'churn' then account_id end) as churned_accounts

    from account_months
    group by month

),

final as (

    select
        month,
        cast(starting_mrr as {{ mrr_type() }}) as starting_mrr,
        cast(new_mrr as {{ mrr_type() }}) as new_mrr,
        cast(expansion_mrr as {{ mrr_type() }}) as expansion_mrr,
        cast(contraction_mrr as {{ mrr_type() }}) as contraction_mrr,
        cast(churned_mrr as {{ mrr_type() }}) as churned_mrr,
        cast(reactivation_mrr as {{ mrr_type() }}) as reactivation_mrr,
        cast(ending_mrr as {{ mrr_type() }}) as ending_mrr,
        paying_accounts_start,
        new_accounts,
        churned_accounts,
        {{ safe_divide('churned_accounts', 'paying_accounts_start') }} as logo_churn_rate,
        {{ safe_divide('contraction_mrr + churned_mrr', 'starting_mrr') }} as gross_mrr_churn_rate,
        {{ safe_divide('starting_mrr + expansion_mrr - contraction_mrr - churned_mrr', 'starting_mrr') }}
            as net_revenue_retention,
        {{ is_complete_by(period_end('month', 'month')) }} as is_complete

    from monthly

)

select * from final
