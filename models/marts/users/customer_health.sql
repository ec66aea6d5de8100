-- One row per user not churned at as_of_date: recent activity and support / e-mail signals,
-- a 0-100 health score (doc block health_score_formula; weights are vars), its band and
-- the signals that lowered it, in words.
with

users as (

    select * from {{ ref('int_users') }}
    where not is_churned

),

active_days as (

    select * from {{ ref('int_user_active_days') }}

),

support_signal_events as (

    {{ user_events_since_signup(
        "events.event_name in ('password_reset_requested', 'help_article_viewed')"
    ) }}

),

ticket_versions as (

    select * from {{ ref('stg_support__ticket_versions') }}

),

email_events as (

    select * from {{ ref('stg_email__email_events') }}

),

activity as (

    select
        user_id,
        count(case when {{ within_days_before_as_of('activity_date', 0, 13) }} then 1 end)
            as active_days_last_14,
        count(case when {{ within_days_before_as_of('activity_date', 14, 27) }} then 1 end)
            as active_days_prior_14

    from active_days
    group by user_id

),

support_signals as (

    select
        user_id,
        cast(sum(
            case
                when
                    event_name = 'password_reset_requested'
                    and {{ within_days_before_as_of('occurred_date', 0, 13) }}
                    then event_count
                else 0
            end
        ) as bigint) as password_resets_last_14,
        cast(sum(
            case
                when
                    event_name = 'help_article_viewed'
                    and {{ within_days_before_as_of('occurred_date', 0, 29) }}
                    then event_count
                else 0
            end
        ) as bigint) as help_views_last_30

    from support_signal_events
    group by user_id

),

tickets_in_force as (

    -- The version of each ticket in force at the end of as_of_date.
    select *
    from ticket_versions
    where {{ version_in_force_at_as_of() }}

),

open_tickets as (

    select
        user_id,
        count(distinct ticket_id) as open_tickets

    from tickets_in_force
    where status in ('new', 'open', 'pending')
    group by user_id

),

email_clicks as (

    select
        user_id,
        count(distinct email_event_id) as email_clicks_last_90

    from email_events
    where
        event_type = 'clicked'
        and {{ within_days_before_as_of('occurred_date', 0, 89) }}
    group by user_id

),

signals as (

    select
        users.user_id,
        coalesce(activity.active_days_last_14, 0) as active_days_last_14,
        coalesce(activity.active_days_prior_14, 0) as active_days_prior_14,
        coalesce(support_signals.password_resets_last_14, 0) as password_resets_last_14,
        coalesce(support_signals.help_views_last_30, 0) as help_views_last_30,
        coalesce(open_tickets.open_tickets, 0) as open_tickets,
        coalesce(email_clicks.email_clicks_last_90, 0) as email_clicks_last_90

    from users
    left join activity on users.user_id = activity.user_id
    left join support_signals on users.user_id = support_signals.user_id
    left join open_tickets on users.user_id = open_tickets.user_id
    left join email_clicks on users.user_id = email_clicks.user_id

),

score_components as (

    -- Points each signal takes off 100 (deficits) or adds (e-mail bonus).
    select
        *,
        {{ health_score_components() }}

    from signals

),

scored as (

    select
        *,
        {{ health_score_from_components() }} as health_score

    from score_components

),

final as (

    select
        user_id,
        {{ as_of_date() }} as as_of_date,
        active_days_last_14,
        active_days_prior_14,
        password_resets_last_14,
        help_views_last_30,
        open_tickets,
        email_clicks_last_90,
        health_score,
        {{ health_band_of('health_score') }} as health_band,
        -- Only the signals that took points off, in a fixed order; null when none did.
        nullif(
            concat_ws(
                '; ',
                case
                    when inactivity_deficit > 0
                        then concat(
                            'low activity (',
                            cast(active_days_last_14 as {{ dbt.type_string() }}),
                            ' active days in last 14)'
                        )
                end,
                case
                    when decline_deficit > 0
                        then concat(
                            'declining activity (',
                            cast(active_days_prior_14 as {{ dbt.type_string() }}),
                            ' to ',
                            cast(active_days_last_14 as {{ dbt.type_string() }}),
                            ' active days)'
                        )
                end,
                case
                    when password_reset_deficit > 0
                        then concat(
                            cast(password_resets_last_14 as {{ dbt.type_string() }}),
                            case when password_resets_last_14 = 1 then ' password reset' else ' password resets' end
                        )
                end,
                case
                    when help_view_deficit > 0
                        then concat(
                            cast(help_views_last_30 as {{ dbt.type_string() }}),
                            case when help_views_last_30 = 1 then ' help article view' else ' help article views' end
                        )
                end,
                case
                    when open_ticket_deficit > 0
                        then concat(
                            cast(open_tickets as {{ dbt.type_string() }}),
                            case when open_tickets = 1 then ' open ticket' else ' open tickets' end
                        )
                end
            ),
            ''
        ) as risk_reasons

    from scored

)

select * from final
