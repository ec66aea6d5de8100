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

final as (

    {{ set_difference_rows('expected', 'actual', ['period_start']) }}

)

select * from final
