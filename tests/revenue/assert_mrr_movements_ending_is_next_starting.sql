-- mrr_movements_monthly: months run without gaps from the first billing month to the month
-- of as_of_date, and each month's ending_mrr is the next month's starting_mrr (exact).
-- Returns one row per break.
with

movements as (

    select * from {{ ref('mrr_movements_monthly') }}

),

billing_events as (

    select * from {{ ref('int_billing_events_as_of') }}

),

next_months as (

    select
        movements.month,
        movements.ending_mrr,
        next_month.month as next_month,
        next_month.starting_mrr as next_starting_mrr

    from movements
    left join movements as next_month
        on next_month.month = {{ add_periods('month', 1, 'movements.month') }}

),

broken_links as (

    select
        month as failing_month,
        'ending_mrr is not the next starting_mrr, or a month is missing' as failure

    from next_months
    where
        (next_month is null and month <> {{ period_start('month', as_of_date()) }})
        or (next_month is not null and ending_mrr <> next_starting_mrr)

),

range_ends as (

    select
        (select min(month) from movements) as first_month,
        (select max(month) from movements) as last_month,
        (
            select min({{ period_start('month', 'occurred_date') }})
            from billing_events
        ) as first_billing_month

),

broken_range as (

    select
        first_month as failing_month,
        'months do not run from the first billing month to the as_of month' as failure

    from range_ends
    where
        first_billing_month is not null
        and (
            first_month <> first_billing_month
            or last_month is null
            or last_month <> {{ period_start('month', as_of_date()) }}
        )

),

final as (

    select * from broken_links
    union all
    select * from broken_range

)

select * from final
