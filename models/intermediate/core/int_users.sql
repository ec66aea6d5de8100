-- One row per user existing at as_of_date with everything the user-level marts share:
-- cohort keys, segments (persona, first-touch channel), activation, first value, activity
-- span and inactivity churn. Every mart reads these definitions from here.
with

users as (

    select * from {{ ref('int_users_as_of') }}

),

accounts as (

    select * from {{ ref('int_accounts_as_of') }}

),

events as (

    select * from {{ ref('int_events_resolved') }}
    where user_id is not null

),

channel_rules as (

    select * from {{ ref('channel_mapping') }}

),

active_days as (

    select * from {{ ref('int_user_active_days') }}

),

first_touch_candidates as (

    -- The earliest stitched event with a utm_source, pre-signup browsing included.
    select
        user_id,
        event_id,
        utm_source,
        utm_medium,
        utm_campaign,
        row_number() over (
            partition by user_id order by occurred_at, received_at, event_id
        ) as touch_number

    from events
    where utm_source is not null

),

first_touches as (

    select * from first_touch_candidates
    where touch_number = 1

),

channel_matches as (

    -- Rules match lower-cased, trimmed utm values; the first matching rule wins.
    select
        first_touches.user_id,
        channel_rules.channel_group,
        row_number() over (
            partition by first_touches.user_id order by channel_rules.rule_order
        ) as match_number

    from first_touches
    inner join channel_rules
        on
            lower(trim(first_touches.utm_source)) like channel_rules.utm_source_pattern
            and coalesce(lower(trim(first_touches.utm_medium)), '')
            like channel_rules.utm_medium_pattern

),

first_touch_channels as (

    select
        first_touches.user_id,
        first_touches.utm_source,
        first_touches.utm_medium,
        first_touches.utm_campaign,
        -- A non-null source that no rule matches is `other`.
        coalesce(channel_matches.channel_group, 'other') as channel

    from first_touches
    left join channel_matches
        on
            first_touches.user_id = channel_matches.user_id
            and channel_matches.match_number = 1

),

milestone_events as (

    -- First occurrence at or after signup of each event that marks a milestone.
    select
        events.user_id,
        events.event_name,
        min(events.occurred_at) as first_occurred_at

    from events
    inner join users on events.user_id = users.user_id
    where
        events.occurred_at >= users.signup_at
        and events.event_name in (
            {% for event_name in var('activation_events') + [var('first_value_event')] -%}
                '{{ event_name }}'{% if not loop.last %}, {% endif %}
            {%- endfor %}
        )
    group by events.user_id, events.event_name

),

milestones as (

    select
        user_id,
        case
            when
                count(distinct case when event_name in (
                    {% for event_name in var('activation_events') -%}
                        '{{ event_name }}'{% if not loop.last %}, {% endif %}
                    {%- endfor %}
                ) then event_name end) = {{ var('activation_events') | length }}
                then max(case when event_name in (
                    {% for event_name in var('activation_events') -%}
                        '{{ event_name }}'{% if not loop.last %}, {% endif %}
                    {%- endfor %}
                ) then first_occurred_at end)
        end as all_activation_events_at,
        min(case when event_name = '{{ var("first_value_event") }}' then first_occurred_at end)
            as first_value_at

    from milestone_events
    group by user_id

),

activity as (

    select
        user_id,
        min(activity_date) as first_active_date,
        max(activity_date) as last_active_date,
        count(*) as active_days

    from active_days
    group by user_id

),

joined as (

    select
        users.user_id,
        users.account_id,
        users.signup_at,
        users.signup_date,
        users.signup_week,
        users.signup_month,
        coalesce(accounts.persona, 'unknown') as persona,
        coalesce(first_touch_channels.channel, 'direct') as channel,
        first_touch_channels.utm_source,
        first_touch_channels.utm_medium,
        first_touch_channels.utm_campaign,
        users.email_hash,
        users.is_deleted,
        case
            when
                milestones.all_activation_events_at
                <= {{ add_hours('users.signup_at', 24 * var('activation_window_days')) }}
                then milestones.all_activation_events_at
        end as activated_at,
        milestones.first_value_at,
        activity.first_active_date,
        activity.last_active_date,
        coalesce(activity.active_days, 0) as active_days,
        {{ add_periods('day', var('churn_inactivity_days'),
                       'coalesce(activity.last_active_date, users.signup_date)') }} as churn_candidate_date

    from users
    left join accounts on users.account_id = accounts.account_id
    left join first_touch_channels on users.user_id = first_touch_channels.user_id
    left join milestones on users.user_id = milestones.user_id
    left join activity on users.user_id = activity.user_id

),

final as (

    select
        user_id,
        account_id,
        signup_at,
        signup_date,
        signup_week,
        signup_month,
        persona,
        channel,
        utm_source,
        utm_medium,
        utm_campaign,
        email_hash,
        is_deleted,
        activated_at,
        activated_at is not null as is_activated,
        first_value_at,
        {{ hours_between('signup_at', 'first_value_at') }} as ttv_hours,
        first_active_date,
        last_active_date,
        active_days,
        case when churn_candidate_date <= {{ as_of_date() }} then churn_candidate_date end
            as churned_date,
        churn_candidate_date <= {{ as_of_date() }} as is_churned

    from joined

)

select * from final
