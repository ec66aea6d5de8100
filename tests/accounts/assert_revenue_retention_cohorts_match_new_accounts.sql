-- Month 0 of each revenue retention cohort holds the month's new accounts and new MRR of
-- mrr_movements_monthly, and every month with new accounts has a cohort.
with

cohorts as (

    select * from {{ ref('revenue_retention_cohorts') }}
    where months_since = 0

),

movements as (

    select * from {{ ref('mrr_movements_monthly') }}
    where new_accounts > 0

)

select coalesce(cohorts.cohort_month, movements.month) as month  -- noqa: RF04

from cohorts
full outer join movements on cohorts.cohort_month = movements.month
where
    cohorts.cohort_month is null
    or movements.month is null
    or cohorts.cohort_accounts <> movements.new_accounts
    or cohorts.cohort_starting_mrr <> movements.new_mrr
