-- active_users_daily has exactly one row per date from the first active day of anyone to
-- as_of_date: no date missing, none extra. Returns the dates that differ.
with

expected as (

    {{ expected_activity_period_starts('day') }}

),

actual as (

    select date as period_start  -- noqa: RF04
    from {{ ref('active_users_daily') }}

),

final as (

    {{ set_difference_rows('expected', 'actual', ['period_start']) }}

)

select * from final
