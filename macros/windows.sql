{#- Shared window and aggregate helpers used by marts of several areas. -#}

{#- Continuous percentile (linear interpolation between the two nearest ranks) of an
    expression, as an aggregate; nulls are ignored and it is null when no value is left.
    `fraction` is in [0, 1] (0.5 = median). Reusable by any mart. -#}
{% macro percentile_cont(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'saas_lifecycle')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile_cont(expression, fraction) -%}
    percentile({{ expression }}, {{ fraction }})
{%- endmacro %}

{% macro duckdb__percentile_cont(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}

{#- True when a window of `window_days` days (N x 24 h, METRICS.md precise reading 6) after
    the cohort's latest signup_at has ended by the end of as_of_date (as_of_end_at): then
    every member of the cohort has had the whole window. `window_days` is a number or a var. -#}
{% macro cohort_window_complete(latest_signup_at, window_days) -%}
    ({{ add_hours(latest_signup_at, '24 * ' ~ window_days) }} <= {{ as_of_end_at() }})
{%- endmacro %}

{#- True when an instant lies within `window_days` days (N x 24 h, inclusive) at or after a
    start instant (precise reading 6). -#}
{% macro within_window_after(event_at, start_at, window_days) -%}
    ({{ event_at }} >= {{ start_at }} and {{ event_at }} <= {{ add_hours(start_at, '24 * ' ~ window_days) }})
{%- endmacro %}
