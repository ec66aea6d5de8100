-- Support load per week (ISO, reporting timezone) from the week of the first ticket to the
-- week of as_of_date, no gaps: tickets created that week (read as of), median minutes to
-- first response and median hours to resolution of those tickets, tickets per 100 users
-- active that week, and the share of them from users in their first 30 days.
with

tickets as (

    select * from {{ ref('int_support_tickets_as_of') }}

),

users as (

    select * from {{ ref('int_users') }}

),

periods as (

    select * from {{ ref('int_periods') }}
    where granularity = 'week'

),

active_periods as (

    select * from {{ ref('int_user_active_periods') }}
    where granularity = 'week'

),

first_ticket_week as (

    select min(created_week) as first_week
    from tickets

),

weeks as (

    -- No gaps: every week of int_periods from the first ticket's (none without tickets).
    select
        periods.period_start as week_start,
        periods.is_complete

    from periods
    inner join first_ticket_week on periods.period_start >= first_ticket_week.first_week

),

ticket_facts as (

    select
        tickets.ticket_id,
        tickets.created_week,
        {{ hours_between('tickets.created_at', 'tickets.first_response_at') }} * 60 as first_response_minutes,
        {{ hours_between('tickets.created_at', 'tickets.solved_at') }} as resolution_hours,
        -- An unknown requester, or a ticket before signup, is not from a new user.
        coalesce(
            {{ within_window_after('tickets.created_at', 'users.signup_at', new_user_days()) }},
            false
        ) as is_new_user_ticket

    from tickets
    left join users on tickets.user_id = users.user_id

),

weekly_tickets as (

    select
        created_week,
        count(*) as tickets_created,
        count(case when is_new_user_ticket then ticket_id end) as new_user_tickets,
        {{ percentile_cont('first_response_minutes', 0.5) }} as median_first_response_minutes,
        {{ percentile_cont('resolution_hours', 0.5) }} as median_resolution_hours

    from ticket_facts
    group by created_week

),

weekly_active_users as (

    select
        period_start as week_start,
        count(distinct user_id) as active_users

    from active_periods
    group by period_start

),

final as (

    select
        weeks.week_start,
        coalesce(weekly_tickets.tickets_created, 0) as tickets_created,
        cast(weekly_tickets.median_first_response_minutes as double) as median_first_response_minutes,
        cast(weekly_tickets.median_resolution_hours as double) as median_resolution_hours,
        100 * {{ safe_divide('coalesce(weekly_tickets.tickets_created, 0)', 'weekly_active_users.active_users') }}
            as tickets_per_100_active_users,
        {{ safe_divide('weekly_tickets.new_user_tickets', 'weekly_tickets.tickets_created') }}
            as new_user_ticket_share,
        coalesce(weekly_active_users.active_users, 0) as active_users,
        weeks.is_complete

    from weeks
    left join weekly_tickets on weeks.week_start = weekly_tickets.created_week
    left join weekly_active_users on weeks.week_start = weekly_active_users.week_start

)

select * from final
