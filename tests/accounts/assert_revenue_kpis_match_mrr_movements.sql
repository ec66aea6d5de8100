-- revenue_kpis_monthly has exactly the months of mrr_movements_monthly with the same
-- ending_mrr, and each month's paying_accounts_end is the next month's paying_accounts_start.
with

kpis as (

    select * from {{ ref('revenue_kpis_monthly') }}

),

movements as (

    select * from {{ ref('mrr_movements_monthly') }}

),

ending_mismatches as (

    select
        coalesce(kpis.month, movements.month) as month,  -- noqa: RF04
        'ending_mrr differs or month missing' as problem

    from kpis
    full outer join movements on kpis.month = movements.month
    where
        kpis.month is null
        or movements.month is null
        or kpis.ending_mrr <> movements.ending_mrr

),

paying_mismatches as (

    select
        kpis.month,
        'paying_accounts_end is not the next paying_accounts_start' as problem

    from kpis
    inner join movements
        on movements.month = {{ add_periods('month', 1, 'kpis.month') }}
    where kpis.paying_accounts_end <> movements.paying_accounts_start

)

select * from ending_mismatches
union all
select * from paying_mismatches
