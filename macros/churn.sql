{#- The churn model's features, defined once: the training and scoring rows
    (int_churn_examples) compute them, churn_risk_scores explains scores with them. Each is
    a number computed from one row of int_account_month_end_features (the account as it
    stood at a month end); `words` name it in churn_risk_scores.top_drivers. A missing value
    is filled with the value that means "no usage" (an account without scored users is
    treated as one whose users all lapsed). -#}
{% macro churn_model_features() -%}
    {{ return([
        {'name': 'health_score', 'words': 'average health score',
         'sql': 'coalesce(health_score, 0.0)'},
        {'name': 'min_user_health_score', 'words': 'lowest user health score',
         'sql': 'coalesce(min_user_health_score, 0.0)'},
        {'name': 'active_user_share', 'words': 'share of users active in the last 30 days',
         'sql': 'coalesce(active_user_share, 0.0)'},
        {'name': 'at_risk_user_share', 'words': 'share of users at risk',
         'sql': 'coalesce(cast(at_risk_users as double) / nullif(scored_users, 0), 1.0)'},
        {'name': 'days_since_last_active', 'words': 'days since any user was active',
         'sql': 'cast(least(coalesce(days_since_last_active, 90), 90) as double)'},
        {'name': 'mean_active_days_last_14', 'words': 'active days per user in the last 14 days',
         'sql': 'coalesce(mean_active_days_last_14, 0.0)'},
        {'name': 'activity_change', 'words': 'change in active days per user (last 14 vs prior 14)',
         'sql': 'coalesce(mean_active_days_last_14 - mean_active_days_prior_14, 0.0)'},
        {'name': 'open_tickets_per_user', 'words': 'open support tickets per user',
         'sql': 'coalesce(cast(open_tickets as double) / nullif(users, 0), 0.0)'},
        {'name': 'email_clicks_per_user', 'words': 'e-mail clicks per user in the last 90 days',
         'sql': 'coalesce(cast(email_clicks_last_90 as double) / nullif(users, 0), 0.0)'},
        {'name': 'log_mrr', 'words': 'MRR (log scale)',
         'sql': 'ln(1.0 + cast(ending_mrr as double))'},
        {'name': 'mrr_fell', 'words': 'MRR fell in the month (1) or not (0)',
         'sql': 'case when ending_mrr < previous_ending_mrr then 1.0 else 0.0 end'},
        {'name': 'paid_month_ends', 'words': 'month ends paid so far',
         'sql': 'cast(paid_month_ends as double)'},
    ]) }}
{%- endmacro %}

{#- Logs a dbt warning naming both numbers when the backtest auc of the model does not beat
    the rule-based baseline (or cannot be computed); a post-hook of churn_model_evaluation. -#}
{% macro warn_when_churn_model_loses(relation) -%}
    {% if execute %}
        {% set rows = run_query(
            'select auc, baseline_auc, test_examples from ' ~ relation
        ).rows %}
        {% for row in rows %}
            {% if row[0] is none or row[1] is none or row[0] <= row[1] %}
                {% do exceptions.warn(
                    'churn model does not beat the baseline: backtest auc ' ~ row[0]
                    ~ ' vs baseline_auc ' ~ row[1] ~ ' on ' ~ row[2]
                    ~ ' test examples; read churn_risk_scores with care'
                ) %}
            {% endif %}
        {% endfor %}
    {% endif %}
    select 1
{%- endmacro %}
