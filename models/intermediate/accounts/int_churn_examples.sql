-- One row per account paying at a month end (ending MRR > 0): the churn model's features
-- as of that month end, the rule-based baseline score, and, when the next month has ended
-- by as_of_date, the label (the next month's movement is `churn`: MRR > 0 -> 0). The row of
-- the as_of month is the one scored for churn_risk_scores.
with

features as (

    select * from {{ ref('int_account_month_end_features') }}

),

account_months as (

    select * from {{ ref('int_account_mrr_monthly') }}

),

as_of as (

    select * from {{ ref('int_as_of') }}

),

labelled as (

    select
        features.*,
        next_months.ending_mrr as next_ending_mrr,
        {{ period_end('month', add_periods('month', 1, 'features.month')) }} <= as_of.as_of_date
            as has_outcome

    from features
    cross join as_of
    left join account_months as next_months
        on
            features.account_id = next_months.account_id
            and next_months.month = {{ add_periods('month', 1, 'features.month') }}
    where features.ending_mrr > 0

),

final as (

    select
        account_id,
        month,
        month_end_date,
        ending_mrr,
        -- Outcome known: the next month ended by as_of_date (its row then always exists).
        case when has_outcome then next_ending_mrr = 0 end as churned_next_month,
        month = (select {{ period_start('month', 'as_of_date') }} from as_of) as is_scoring_row,
        -- The baseline ranks by 100 - health score (an account with no scored user: 0).
        cast(100.0 - coalesce(health_score, 0.0) as double) as baseline_score,
        {% for feature in churn_model_features() -%}
            cast({{ feature.sql }} as double) as feature_{{ feature.name }}{% if not loop.last %},{% endif %}
        {% endfor %}

    from labelled

)

select * from final
