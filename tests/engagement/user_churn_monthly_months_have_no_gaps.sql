-- user_churn_monthly has exactly one row per month from the month of the first active day
-- of anyone to the month of as_of_date: no month missing, none extra. Returns the months
-- that differ.
with

expected as (

    {{ expected_activity_period_starts('month') }}

),

actual as (

    select month as period_start
    from {{ ref('user_churn_monthly') }}

),

missing as (

    select period_start from expected
    except
    select period_start from actual

),

extra as (

    select period_start from actual
    except
    select period_start from expected

),

final as (

    select
        'missing' as problem,
        period_start
    from missing
    union all
    select
        'extra' as problem,
        period_start
    from extra

)

select * from final
