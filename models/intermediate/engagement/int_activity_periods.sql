-- The period grid of the activity marts: every day, week and month from the one containing
-- the first active day of anyone to the one containing as_of_date (int_periods from there
-- on), with period_end and is_complete as int_periods has them.
with

periods as (

    select * from {{ ref('int_periods') }}

),

active_periods as (

    select * from {{ ref('int_user_active_periods') }}

),

first_active_periods as (

    select
        granularity,
        min(period_start) as first_active_period_start

    from active_periods
    group by granularity

),

final as (

    select
        periods.granularity,
        periods.period_start,
        periods.period_end,
        periods.is_complete

    from periods
    inner join first_active_periods
        on
            periods.granularity = first_active_periods.granularity
            and periods.period_start >= first_active_periods.first_active_period_start

)

select * from final
