-- Warns (never fails) when the churn model's backtest auc does not beat the rule-based
-- baseline's, or either cannot be computed: the returned row names both numbers (dbt.log,
-- `dbt test --store-failures`), and churn_model_evaluation's post-hook logs them as a
-- warning too. METRICS.md: a model below the baseline is never published without one.
{{ config(enabled=target.type != 'spark', severity='warn') }}

select
    as_of_date,
    auc,
    baseline_auc,
    test_examples

from {{ ref('churn_model_evaluation') }}
where not beats_baseline
