-- One row per month of mrr_movements_monthly: the finance KPIs of the month-end MRR (ARR,
-- ARPA, quick ratio, revenue retention, LTV), in the reporting currency, unrounded.
with

movements as (

    select * from {{ ref('mrr_movements_monthly') }}

),

account_months as (

    select * from {{ ref('fct_account_mrr_monthly') }}

),

paying_at_end as (

    select
        month,
        count(case when ending_mrr > 0 then account_id end) as paying_accounts_end

    from account_months
    group by month

),

final as (

    select
        movements.month,
        movements.ending_mrr,
        cast(12 * movements.ending_mrr as {{ mrr_type() }}) as arr,
        coalesce(paying_at_end.paying_accounts_end, 0) as paying_accounts_end,
        {{ safe_divide('movements.ending_mrr', 'paying_at_end.paying_accounts_end') }} as arpa,
        {{ safe_divide(
            'movements.new_mrr + movements.expansion_mrr + movements.reactivation_mrr',
            '(movements.contraction_mrr + movements.churned_mrr)'
        ) }} as quick_ratio,
        {{ safe_divide(
            'movements.starting_mrr - movements.contraction_mrr - movements.churned_mrr',
            'movements.starting_mrr'
        ) }} as gross_revenue_retention,
        movements.net_revenue_retention,
        movements.logo_churn_rate,
        -- LTV = ARPA / logo churn rate; null when that rate is 0 or null.
        case
            when movements.logo_churn_rate > 0
                then
                    {{ safe_divide('movements.ending_mrr', 'paying_at_end.paying_accounts_end') }}
                    / movements.logo_churn_rate
        end as ltv,
        movements.is_complete

    from movements
    left join paying_at_end on movements.month = paying_at_end.month

)

select * from final
