-- One row per account and month of int_account_mrr_monthly: the account as it stood at the
-- month end (local midnight after the month's last day, or after as_of_date for the current
-- month), computed with the definitions of customer_health and account_health but cut at
-- that instant, as if the project had been rebuilt with as_of_date = the month's last date.
-- Nothing here reads a row after the month end: users and tickets are read from their CDC
-- versions in force then, an anonymous row counts only through a stitch made before it,
-- and every window ends on the month's last date. churn_risk_scores trains on these rows.
with

account_months as (

    select * from {{ ref('int_account_mrr_monthly') }}

),

as_of as (

    select * from {{ ref('int_as_of') }}

),

user_versions as (

    select * from {{ ref('stg_app__user_versions') }}

),

identity_map as (

    select * from {{ ref('stg_product__identity_map') }}

),

identity_days as (

    select * from {{ ref('int_identity_events_daily') }}

),

taxonomy as (

    select * from {{ ref('event_taxonomy') }}

),

ticket_versions as (

    select * from {{ ref('stg_support__ticket_versions') }}

),

email_events as (

    select * from {{ ref('stg_email__email_events') }}

),

month_ends as (

    select distinct
        account_months.month,
        account_months.month_end_at,
        least({{ period_end('month', 'account_months.month') }}, as_of.as_of_date) as month_end_date

    from account_months
    cross join as_of

),

users_at_month_end as (

    -- The users version in force at each month end, for users created before it.
    select
        month_ends.month,
        month_ends.month_end_at,
        month_ends.month_end_date,
        user_versions.user_id,
        user_versions.account_id,
        user_versions.created_date as signup_date

    from month_ends
    inner join user_versions
        on
            month_ends.month_end_at > user_versions.created_at
            and month_ends.month_end_at > user_versions.updated_at
            and (user_versions.valid_to is null or month_ends.month_end_at <= user_versions.valid_to)

),

resolved_days as (

    -- Each user's days as known from an instant: always for a row's own user_id, from the
    -- stitch for an anonymous row. Rolled up per user, date and that instant, so the month
    -- end join below reads a few rows per user-day instead of one per event name.
    select
        coalesce(identity_days.user_id, identity_map.user_id) as user_id,
        identity_days.occurred_date,
        case when identity_days.user_id is null then identity_map.stitched_at end as known_from_at,
        max(case when coalesce(taxonomy.is_active, true) then 1 else 0 end) = 1 as has_active_event,
        sum(case when identity_days.event_name = 'password_reset_requested' then identity_days.event_count else 0 end)
            as password_resets,
        sum(case when identity_days.event_name = 'help_article_viewed' then identity_days.event_count else 0 end)
            as help_views

    from identity_days
    left join identity_map
        on
            identity_days.user_id is null
            and identity_days.anonymous_id = identity_map.anonymous_id
    left join taxonomy on identity_days.event_name = taxonomy.event_name
    where coalesce(identity_days.user_id, identity_map.user_id) is not null
    group by
        coalesce(identity_days.user_id, identity_map.user_id),
        identity_days.occurred_date,
        case when identity_days.user_id is null then identity_map.stitched_at end

),

user_days_at_month_end as (

    -- Per user, month end and date: active, password resets and help views, as known then.
    select
        users_at_month_end.month,
        users_at_month_end.user_id,
        resolved_days.occurred_date,
        {{ days_between('resolved_days.occurred_date', 'users_at_month_end.month_end_date') }} as days_back,
        max(case when resolved_days.has_active_event then 1 else 0 end) = 1 as is_active_day,
        sum(resolved_days.password_resets) as password_resets,
        sum(resolved_days.help_views) as help_views

    from users_at_month_end
    inner join resolved_days
        on
            users_at_month_end.user_id = resolved_days.user_id
            and users_at_month_end.signup_date <= resolved_days.occurred_date
            and users_at_month_end.month_end_date >= resolved_days.occurred_date
            and (resolved_days.known_from_at is null or users_at_month_end.month_end_at > resolved_days.known_from_at)
    group by
        users_at_month_end.month,
        users_at_month_end.user_id,
        resolved_days.occurred_date,
        users_at_month_end.month_end_date

),

user_activity as (

    select
        month,
        user_id,
        count(case when is_active_day and days_back between 0 and 13 then 1 end) as active_days_last_14,
        count(case when is_active_day and days_back between 14 and 27 then 1 end) as active_days_prior_14,
        count(case when is_active_day and days_back between 0 and 29 then 1 end) > 0 as is_active_last_30,
        max(case when is_active_day then occurred_date end) as last_active_date,
        cast(sum(case when days_back between 0 and 13 then password_resets else 0 end) as bigint)
            as password_resets_last_14,
        cast(sum(case when days_back between 0 and 29 then help_views else 0 end) as bigint)
            as help_views_last_30

    from user_days_at_month_end
    group by month, user_id

),

open_tickets as (

    select
        month_ends.month,
        ticket_versions.user_id,
        count(distinct ticket_versions.ticket_id) as open_tickets

    from month_ends
    inner join ticket_versions
        on
            month_ends.month_end_at > ticket_versions.created_at
            and month_ends.month_end_at > ticket_versions.updated_at
            and (ticket_versions.valid_to is null or month_ends.month_end_at <= ticket_versions.valid_to)
    where ticket_versions.status in ('new', 'open', 'pending')
    group by month_ends.month, ticket_versions.user_id

),

email_clicks as (

    select
        month_ends.month,
        email_events.user_id,
        count(distinct email_events.email_event_id) as email_clicks_last_90

    from month_ends
    inner join email_events
        on
            {{ days_between('email_events.occurred_date', 'month_ends.month_end_date') }} between 0 and 89
    where email_events.event_type = 'clicked'
    group by month_ends.month, email_events.user_id

),

user_signals as (

    select
        users_at_month_end.month,
        users_at_month_end.month_end_date,
        users_at_month_end.user_id,
        users_at_month_end.account_id,
        coalesce(user_activity.is_active_last_30, false) as is_active_last_30,
        user_activity.last_active_date,
        -- Inactivity churn as dim_users defines it, evaluated at the month end.
        {{ add_periods('day', var('churn_inactivity_days'),
                       'coalesce(user_activity.last_active_date, users_at_month_end.signup_date)') }}
        <= users_at_month_end.month_end_date as is_churned,
        coalesce(user_activity.active_days_last_14, 0) as active_days_last_14,
        coalesce(user_activity.active_days_prior_14, 0) as active_days_prior_14,
        coalesce(user_activity.password_resets_last_14, 0) as password_resets_last_14,
        coalesce(user_activity.help_views_last_30, 0) as help_views_last_30,
        coalesce(open_tickets.open_tickets, 0) as open_tickets,
        coalesce(email_clicks.email_clicks_last_90, 0) as email_clicks_last_90

    from users_at_month_end
    left join user_activity
        on
            users_at_month_end.month = user_activity.month
            and users_at_month_end.user_id = user_activity.user_id
    left join open_tickets
        on
            users_at_month_end.month = open_tickets.month
            and users_at_month_end.user_id = open_tickets.user_id
    left join email_clicks
        on
            users_at_month_end.month = email_clicks.month
            and users_at_month_end.user_id = email_clicks.user_id

),

user_scores as (

    select
        *,
        {{ health_score_components() }}

    from user_signals

),

user_health as (

    select
        *,
        -- customer_health holds only users not churned: the others have no score.
        case when not is_churned then {{ health_score_from_components() }} end as health_score

    from user_scores

),

account_users as (

    select
        month,
        account_id,
        count(*) as users,  -- noqa: RF04
        count(case when is_active_last_30 then user_id end) as active_users_last_30,
        count(case when not is_churned then user_id end) as scored_users,
        avg(health_score) as health_score,
        min(health_score) as min_user_health_score,
        count(case when health_score < {{ var('health_neutral_min_score') }} then user_id end) as at_risk_users,
        max(last_active_date) as last_active_date,
        avg(cast(active_days_last_14 as double)) as mean_active_days_last_14,
        avg(cast(active_days_prior_14 as double)) as mean_active_days_prior_14,
        sum(open_tickets) as open_tickets,
        sum(password_resets_last_14) as password_resets_last_14,
        sum(help_views_last_30) as help_views_last_30,
        sum(email_clicks_last_90) as email_clicks_last_90

    from user_health
    group by month, account_id

),

account_history as (

    select
        account_id,
        month,
        month_end_at,
        ending_mrr,
        coalesce(lag(ending_mrr) over (partition by account_id order by month), 0) as previous_ending_mrr,
        count(case when ending_mrr > 0 then 1 end) over (
            partition by account_id order by month rows between unbounded preceding and current row
        ) as paid_month_ends

    from account_months

),

final as (

    select
        account_history.account_id,
        account_history.month,
        month_ends.month_end_date,
        account_history.month_end_at,
        account_history.ending_mrr,
        account_history.previous_ending_mrr,
        account_history.paid_month_ends,
        coalesce(account_users.users, 0) as users,  -- noqa: RF04
        coalesce(account_users.active_users_last_30, 0) as active_users_last_30,
        {{ safe_divide('account_users.active_users_last_30', 'account_users.users') }} as active_user_share,
        coalesce(account_users.scored_users, 0) as scored_users,
        cast(account_users.health_score as double) as health_score,
        cast(account_users.min_user_health_score as double) as min_user_health_score,
        coalesce(account_users.at_risk_users, 0) as at_risk_users,
        account_users.last_active_date,
        {{ days_between('account_users.last_active_date', 'month_ends.month_end_date') }} as days_since_last_active,
        cast(account_users.mean_active_days_last_14 as double) as mean_active_days_last_14,
        cast(account_users.mean_active_days_prior_14 as double) as mean_active_days_prior_14,
        cast(coalesce(account_users.open_tickets, 0) as bigint) as open_tickets,
        cast(coalesce(account_users.password_resets_last_14, 0) as bigint) as password_resets_last_14,
        cast(coalesce(account_users.help_views_last_30, 0) as bigint) as help_views_last_30,
        cast(coalesce(account_users.email_clicks_last_90, 0) as bigint) as email_clicks_last_90

    from account_history
    inner join month_ends on account_history.month = month_ends.month
    left join account_users
        on
            account_history.account_id = account_users.account_id
            and account_history.month = account_users.month

)

select * from final
