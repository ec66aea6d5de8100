-- churn_risk_scores has exactly the paying accounts of account_health, with their MRR, and
-- its expected losses add up to probability x MRR.
-- The churn marts are not built on Spark (README, "Running on a cluster").
{{ config(enabled=target.type != 'spark') }}

with

scores as (

    select * from {{ ref('churn_risk_scores') }}

),

paying as (

    select * from {{ ref('account_health') }}
    where is_paying

)

select coalesce(scores.account_id, paying.account_id) as account_id

from scores
full outer join paying on scores.account_id = paying.account_id
where
    scores.account_id is null
    or paying.account_id is null
    or scores.current_mrr <> paying.current_mrr
    or abs(scores.expected_mrr_loss - scores.churn_probability * cast(scores.current_mrr as double)) > 1e-6
