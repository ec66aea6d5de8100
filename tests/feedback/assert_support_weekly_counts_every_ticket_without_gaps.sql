-- support_weekly has one row per week from the week of the first ticket to the week of
-- as_of_date, no gaps, and its tickets_created add up to every ticket read as of (none
-- lost to the week range). Returns a row describing each failure.
with

weekly as (

    select * from {{ ref('support_weekly') }}

),

tickets as (

    select * from {{ ref('int_support_tickets_as_of') }}

),

expected as (

    select
        count(*) as tickets,
        min(created_week) as first_week,
        {{ period_start('week', as_of_date()) }} as last_week

    from tickets

),

actual as (

    select
        coalesce(sum(tickets_created), 0) as tickets,
        count(*) as weeks,
        min(week_start) as first_week,
        max(week_start) as last_week

    from weekly

),

final as (

    select
        expected.tickets as expected_tickets,
        actual.tickets as actual_tickets,
        expected.first_week as expected_first_week,
        actual.first_week as actual_first_week,
        expected.last_week as expected_last_week,
        actual.last_week as actual_last_week,
        actual.weeks as actual_weeks

    from expected
    cross join actual

)

select * from final
where
    expected_tickets != actual_tickets
    or (expected_tickets > 0 and (
        expected_first_week != actual_first_week
        or expected_last_week != actual_last_week
        or actual_weeks != {{ days_between('expected_first_week', 'expected_last_week') }} / 7 + 1
    ))
    or (expected_tickets = 0 and actual_weeks != 0)
