-- One row per model role, feature (and intercept) of this run's churn model fits: the
-- training rows' mean and scale of the feature and its coefficient on the standardized
-- value, so that every churn probability can be recomputed and explained later.
with

fits as (

    select * from {{ ref('int_churn_model_fit') }}

),

final as (

    select
        cast(model_role as {{ dbt.type_string() }}) as model_role,
        cast(model_version as {{ dbt.type_string() }}) as model_version,
        cast(feature_name as {{ dbt.type_string() }}) as feature_name,
        cast(feature_mean as double) as feature_mean,
        cast(feature_scale as double) as feature_scale,
        cast(coefficient as double) as coefficient,
        cast(train_examples as bigint) as train_examples,
        cast(train_churn_rate as double) as train_churn_rate,
        cast(first_example_month as date) as first_example_month,
        cast(last_example_month as date) as last_example_month,
        cast(seed as bigint) as seed,
        cast(library_version as {{ dbt.type_string() }}) as library_version

    from fits

)

select * from final
