-- The month-end feature grid, cut at the end of as_of_date (the as_of month's rows), equals
-- account_health for every account in both: the churn model trains on the same definitions
-- that account_health and customer_health apply at as_of_date.
with

features as (

    select * from {{ ref('int_account_month_end_features') }}
    where month = {{ period_start('month', as_of_date()) }}

),

health as (

    select * from {{ ref('account_health') }}

)

select features.account_id

from features
inner join health on features.account_id = health.account_id
where
    features.users <> health.users
    or features.active_users_last_30 <> health.active_users_last_30
    or features.at_risk_users <> health.at_risk_users
    or features.ending_mrr <> health.current_mrr
    or (features.health_score is null) <> (health.health_score is null)
    or abs(features.health_score - health.health_score) > 1e-9
    or abs(features.min_user_health_score - health.min_user_health_score) > 1e-9
    or coalesce(features.last_active_date, '1900-01-01') <> coalesce(health.last_active_date, '1900-01-01')
