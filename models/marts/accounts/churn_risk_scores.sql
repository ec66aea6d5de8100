-- One row per account paying at as_of_date: the probability that its next month's movement
-- is `churn`, from the `final` fit of churn_model_coefficients applied to the account's
-- features at the end of as_of_date (int_churn_examples), and the three features that
-- raise its score most. Computed here in SQL from the stored coefficients, so every score
-- can be recomputed from churn_model_coefficients.
with

accounts as (

    select * from {{ ref('dim_accounts') }}
    where is_paying

),

scoring_rows as (

    select * from {{ ref('int_churn_examples') }}
    where is_scoring_row

),

coefficients as (

    select * from {{ ref('churn_model_coefficients') }}
    where model_role = 'final'

),

intercepts as (

    select
        model_version,
        coefficient as intercept

    from coefficients
    where feature_name = 'intercept'

),

feature_values as (

    {% for feature in churn_model_features() -%}
        select
            account_id,
            '{{ feature.name }}' as feature_name,
            '{{ feature.words }}' as feature_words,
            feature_{{ feature.name }} as feature_value
        from scoring_rows
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

contributions as (

    -- What each standardized feature adds to the account's log-odds of churn.
    select
        feature_values.account_id,
        feature_values.feature_name,
        concat(
            case when feature_values.feature_value > coefficients.feature_mean then 'high ' else 'low ' end,
            feature_values.feature_words
        ) as driver,
        coefficients.coefficient
        * (feature_values.feature_value - coefficients.feature_mean)
        / coefficients.feature_scale as contribution

    from feature_values
    inner join coefficients on feature_values.feature_name = coefficients.feature_name

),

ranked_drivers as (

    select
        account_id,
        driver,
        row_number() over (partition by account_id order by contribution desc, feature_name asc) as driver_rank

    from contributions
    where contribution > 0

),

top_drivers as (

    select
        account_id,
        -- No positive term at all: null, not an empty string.
        nullif(concat_ws(
            '; ',
            max(case when driver_rank = 1 then driver end),
            max(case when driver_rank = 2 then driver end),
            max(case when driver_rank = 3 then driver end)
        ), '') as top_drivers

    from ranked_drivers
    group by account_id

),

logits as (

    select
        account_id,
        sum(contribution) as feature_logit

    from contributions
    group by account_id

),

scored as (

    select
        accounts.account_id,
        accounts.current_mrr,
        1.0 / (1.0 + exp(-(intercepts.intercept + logits.feature_logit))) as churn_probability,
        top_drivers.top_drivers,
        intercepts.model_version

    from accounts
    left join logits on accounts.account_id = logits.account_id
    left join top_drivers on accounts.account_id = top_drivers.account_id
    -- One final model per run, or none (then every probability is null).
    left join intercepts on 1 = 1

),

final as (

    select
        account_id,
        current_mrr,
        cast(churn_probability as double) as churn_probability,
        row_number() over (order by churn_probability desc nulls last, account_id asc) as risk_rank,
        cast(churn_probability * cast(current_mrr as double) as double) as expected_mrr_loss,
        top_drivers,
        model_version

    from scored

)

select * from final
