-- One row per run: the churn model's backtest on time against the rule-based baseline
-- (int_churn_backtest). The post-hook warns, naming both numbers, when the model's auc
-- does not beat baseline_auc.
{{ config(post_hook="{{ warn_when_churn_model_loses(this) }}") }}

with

backtest as (

    select * from {{ ref('int_churn_backtest') }}

),

final as (

    select
        cast(as_of_date as date) as as_of_date,
        cast(test_outcome_month as date) as test_outcome_month,
        cast(train_examples as bigint) as train_examples,
        cast(test_examples as bigint) as test_examples,
        cast(test_churn_rate as double) as test_churn_rate,
        cast(auc as double) as auc,
        cast(average_precision as double) as average_precision,
        cast(brier_score as double) as brier_score,
        cast(precision_at_top_decile as double) as precision_at_top_decile,
        cast(baseline_auc as double) as baseline_auc,
        coalesce(auc > baseline_auc, false) as beats_baseline,
        cast(model_version as {{ dbt.type_string() }}) as model_version

    from backtest

)

select * from final
