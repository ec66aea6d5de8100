-- Every churn probability is recomputed from churn_model_coefficients' `final` rows and the
-- account's features at the end of as_of_date (int_churn_examples): the stored fit explains
-- each score. Written apart from churn_risk_scores' own SQL, as a dot product per account.
-- The churn marts are not built on Spark (README, "Running on a cluster").
{{ config(enabled=target.type != 'spark') }}

with

scores as (

    select * from {{ ref('churn_risk_scores') }}
    where churn_probability is not null

),

rows_scored as (

    select * from {{ ref('int_churn_examples') }}
    where is_scoring_row

),

coefficients as (

    select * from {{ ref('churn_model_coefficients') }}
    where model_role = 'final'

),

intercepts as (

    select coefficients.coefficient as intercept
    from coefficients
    where coefficients.feature_name = 'intercept'

),

weights as (

    -- One row of every feature's coefficient, mean and scale, as columns.
    select
        {% for feature in churn_model_features() -%}
            max(case when coefficients.feature_name = '{{ feature.name }}' then coefficients.coefficient end)
                as coefficient_{{ feature.name }},
            max(case when coefficients.feature_name = '{{ feature.name }}' then coefficients.feature_mean end)
                as mean_{{ feature.name }},
            max(case when coefficients.feature_name = '{{ feature.name }}' then coefficients.feature_scale end)
                as scale_{{ feature.name }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from coefficients

),

recomputed as (

    select
        rows_scored.account_id,
        1.0 / (1.0 + exp(-(
            intercepts.intercept
            {% for feature in churn_model_features() -%}
                + weights.coefficient_{{ feature.name }}
                * (rows_scored.feature_{{ feature.name }} - weights.mean_{{ feature.name }})
                / weights.scale_{{ feature.name }}
            {% endfor %}
        ))) as churn_probability

    from rows_scored
    cross join intercepts
    cross join weights

)

select scores.account_id

from scores
left join recomputed on scores.account_id = recomputed.account_id
where
    recomputed.account_id is null
    or abs(scores.churn_probability - recomputed.churn_probability) > 1e-9
