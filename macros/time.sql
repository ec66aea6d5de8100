{#- Time helpers. Every timestamp in the project is a naive UTC instant; dates, weeks and
    months are calendar periods in var reporting_timezone. Engine-specific SQL lives here,
    behind adapter.dispatch, so models stay portable. -#}

{#- A raw timestamp (tz-aware UTC or naive, read as UTC) as a naive UTC timestamp. -#}
{% macro utc_timestamp(column) -%}
    {{ return(adapter.dispatch('utc_timestamp', 'saas_lifecycle')(column)) }}
{%- endmacro %}

{% macro default__utc_timestamp(column) -%}
    cast({{ column }} as timestamp)
{%- endmacro %}

{% macro duckdb__utc_timestamp(column) -%}
    {#- The profile pins the session TimeZone to UTC, so the casts keep the UTC wall time. By
        way of timestamptz, as DuckDB has no direct cast from TIMESTAMPTZ_NS to TIMESTAMP. -#}
    cast(cast({{ column }} as timestamptz) as timestamp)
{%- endmacro %}

{#- The reporting-timezone calendar date of a naive UTC timestamp. -#}
{% macro local_date(column) -%}
    {{ return(adapter.dispatch('local_date', 'saas_lifecycle')(column)) }}
{%- endmacro %}

{% macro default__local_date(column) -%}
    to_date(from_utc_timestamp({{ column }}, {{ sql_string(var("reporting_timezone")) }}))
{%- endmacro %}

{% macro duckdb__local_date(column) -%}
    cast(timezone({{ sql_string(var("reporting_timezone")) }}, cast({{ column }} as timestamptz)) as date)
{%- endmacro %}

{#- The UTC instant (naive) of local midnight at the start of a reporting-timezone date. -#}
{% macro local_midnight_utc(date_expression) -%}
    {{ return(adapter.dispatch('local_midnight_utc', 'saas_lifecycle')(date_expression)) }}
{%- endmacro %}

{% macro default__local_midnight_utc(date_expression) -%}
    to_utc_timestamp(cast({{ date_expression }} as timestamp), {{ sql_string(var("reporting_timezone")) }})
{%- endmacro %}

{% macro duckdb__local_midnight_utc(date_expression) -%}
    cast(timezone({{ sql_string(var("reporting_timezone")) }}, cast({{ date_expression }} as timestamp)) as timestamp)
{%- endmacro %}
