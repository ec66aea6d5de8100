{#- Helpers of the onboarding marts (activation_cohorts, onboarding_funnel, time_to_value)
    and the feedback marts (nps_monthly, email_campaign_performance, support_weekly).
    Engine-specific SQL only behind adapter.dispatch. -#}

{#- A select of the members of the signup-week cohorts, one row per user and segment row set
    they belong to (int_user_segments: all/all, persona, channel), with the user's signup_at
    and any further int_users columns named in `columns`. -#}
{% macro signup_week_cohort_members(columns=[]) -%}
    select
        users.user_id,
        users.signup_week,
        segments.segment_type,
        segments.segment_value,
        users.signup_at
        {%- for column in columns %},
        users.{{ column }}
        {%- endfor %}

    from {{ ref('int_users') }} as users
    inner join {{ ref('int_user_segments') }} as segments
        on users.user_id = segments.user_id
{%- endmacro %}

{#- A select of the signup-week cohorts of a relation of cohort members (the select above):
    one row per signup_week, segment_type and segment_value with at least one member, with
    signups and latest_signup_at (for cohort_window_complete). -#}
{% macro signup_week_cohorts(members) -%}
    select
        signup_week,
        segment_type,
        segment_value,
        count(*) as signups,
        max(signup_at) as latest_signup_at

    from {{ members }}
    group by signup_week, segment_type, segment_value
{%- endmacro %}

{#- Days after signup_at during which a support ticket's requester is a new user
    (METRICS.md support_weekly: "users in their first 30 days"; N x 24 h, inclusive). -#}
{% macro new_user_days() -%}
    {{ return(30) }}
{%- endmacro %}
