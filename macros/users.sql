{#- Helpers of the user marts (dim_users, customer_health, aha_moment_candidates). Trailing
    windows are counted in local days back from as_of_date (0 = as_of_date itself), and a
    user's events are read from their signup date on, so the rules live here once. -#}

{#- Whole local days from a date back to as_of_date: 0 on as_of_date, 13 thirteen days
    before it. A window "last N days" is days back 0..N-1. -#}
{% macro days_before_as_of(date_expression) -%}
    {{ days_between(date_expression, as_of_date()) }}
{%- endmacro %}

{#- True when a date lies from first_day_back to last_day_back days before as_of_date,
    both inclusive (e.g. 0, 13 = the last 14 days; 14, 27 = the 14 days before those). -#}
{% macro within_days_before_as_of(date_expression, first_day_back, last_day_back) -%}
    ({{ days_before_as_of(date_expression) }} between {{ first_day_back }} and {{ last_day_back }})
{%- endmacro %}

{#- A select of the identity-resolved daily event counts of existing users (one row per
    user, local date and event name, up to as_of_date) on dates on or after their signup
    date, with days_since_signup (0 = signup date) and days_before_as_of (0 = as_of_date).
    `event_filter` is a condition on `events` (int_user_events_daily) columns; count a
    user's events with sum(event_count). -#}
{% macro user_events_since_signup(event_filter='true') -%}
    select
        events.user_id,
        events.event_name,
        events.category,
        events.is_active,
        events.occurred_date,
        events.event_count,
        {{ days_between('users.signup_date', 'events.occurred_date') }} as days_since_signup,
        {{ days_before_as_of('events.occurred_date') }} as days_before_as_of

    from {{ ref('int_user_events_daily') }} as events
    inner join {{ ref('int_users') }} as users
        on events.user_id = users.user_id
    where
        events.occurred_date >= users.signup_date
        and ({{ event_filter }})
{%- endmacro %}
