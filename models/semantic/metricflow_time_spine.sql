-- MetricFlow's day time spine: every date of every calendar month the period marts cover
-- (int_periods: from the month of the first signup or active day to the as_of month), so
-- cumulative, offset and zero-filled metrics find each day of a month they group by.
with

months as (

    select * from {{ ref('int_periods') }}
    where granularity = 'month'

),

bounds as (

    select
        min(period_start) as first_date,
        max(period_end) as last_date

    from months

),

days as (

    {{ date_spine('(select first_date from bounds)', '(select last_date from bounds)') }}

),

final as (

    select cast(date_day as date) as date_day
    from days

)

select * from final
