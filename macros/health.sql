{#- The customer_health score, defined once so that the account month-end feature grid
    (int_account_month_end_features) scores users at every month end exactly as
    customer_health scores them at as_of_date. Each macro reads the signal columns by their
    customer_health names. -#}

{#- Points each signal takes off 100 (deficits) or adds (e-mail bonus), as select columns. -#}
{% macro health_score_components() -%}
    {{ var('health_inactivity_points') }} * (
        1.0 - least(
            cast(active_days_last_14 as double) / {{ var('health_target_active_days') }}, 1.0
        )
    ) as inactivity_deficit,
    case
        when active_days_last_14 < active_days_prior_14
            then
                {{ var('health_decline_points') }}
                * cast(active_days_prior_14 - active_days_last_14 as double) / active_days_prior_14
        else 0.0
    end as decline_deficit,
    {{ var('health_password_reset_points') }} * password_resets_last_14 as password_reset_deficit,
    {{ var('health_help_view_points') }}
    * least(
        greatest(help_views_last_30 - {{ var('health_help_view_allowance') }}, 0),
        {{ var('health_help_view_cap') }}
    ) as help_view_deficit,
    {{ var('health_open_ticket_points') }} * open_tickets as open_ticket_deficit,
    {{ var('health_email_click_points') }}
    * least(email_clicks_last_90, {{ var('health_email_click_cap') }}) as email_bonus
{%- endmacro %}

{#- The 0-100 score from the components above, clamped. -#}
{% macro health_score_from_components() -%}
    cast(
        greatest(
            least(
                100.0
                - inactivity_deficit
                - decline_deficit
                - password_reset_deficit
                - help_view_deficit
                - open_ticket_deficit
                + email_bonus,
                100.0
            ),
            0.0
        ) as double
    )
{%- endmacro %}

{#- The band of a score (customer_health thresholds). -#}
{% macro health_band_of(score) -%}
    case
        when {{ score }} >= {{ var('health_healthy_min_score') }} then 'healthy'
        when {{ score }} >= {{ var('health_neutral_min_score') }} then 'neutral'
        else 'at_risk'
    end
{%- endmacro %}
