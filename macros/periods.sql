{#- Calendar arithmetic on dates, for granularity 'day', 'week' (ISO, Monday start) or
    'month'. `granularity` is a literal known at compile time. Every mart that needs a
    period start, a period number or a period end uses these, so the rules live here once. -#}

{#- First date of the period containing a date. -#}
{% macro period_start(granularity, date_expression) -%}
    {%- if granularity == 'day' -%}
        cast({{ date_expression }} as date)
    {%- else -%}
        cast(date_trunc('{{ granularity }}', {{ date_expression }}) as date)
    {%- endif -%}
{%- endmacro %}

{#- The date n periods after a date (n may be an expression or negative). -#}
{% macro add_periods(granularity, n, date_expression) -%}
    {{ return(adapter.dispatch('add_periods', 'saas_lifecycle')(granularity, n, date_expression)) }}
{%- endmacro %}

{% macro default__add_periods(granularity, n, date_expression) -%}
    {%- if granularity == 'day' -%}
        date_add({{ date_expression }}, cast({{ n }} as int))
    {%- elif granularity == 'week' -%}
        date_add({{ date_expression }}, 7 * cast({{ n }} as int))
    {%- else -%}
        add_months({{ date_expression }}, cast({{ n }} as int))
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__add_periods(granularity, n, date_expression) -%}
    {%- if granularity == 'day' -%}
        cast({{ date_expression }} + cast({{ n }} as integer) as date)
    {%- elif granularity == 'week' -%}
        cast({{ date_expression }} + 7 * cast({{ n }} as integer) as date)
    {%- else -%}
        cast({{ date_expression }} + to_months(cast({{ n }} as integer)) as date)
    {%- endif -%}
{%- endmacro %}

{#- Last date of the period that starts at a period start. -#}
{% macro period_end(granularity, period_start_expression) -%}
    {{ add_periods('day', -1, add_periods(granularity, 1, period_start_expression)) }}
{%- endmacro %}

{#- Whole days from one date to another (later minus earlier). -#}
{% macro days_between(start_date, end_date) -%}
    {{ return(adapter.dispatch('days_between', 'saas_lifecycle')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__days_between(start_date, end_date) -%}
    datediff({{ end_date }}, {{ start_date }})
{%- endmacro %}

{% macro duckdb__days_between(start_date, end_date) -%}
    date_diff('day', cast({{ start_date }} as date), cast({{ end_date }} as date))
{%- endmacro %}

{#- Number of whole periods from the period starting at one period start to the period
    starting at another (both must be period starts of the granularity). -#}
{% macro periods_between(granularity, start_period, end_period) -%}
    {%- if granularity == 'day' -%}
        {{ days_between(start_period, end_period) }}
    {%- elif granularity == 'week' -%}
        cast(floor({{ days_between(start_period, end_period) }} / 7.0) as integer)
    {%- else -%}
        (
            (extract(year from {{ end_period }}) * 12 + extract(month from {{ end_period }}))
            - (extract(year from {{ start_period }}) * 12 + extract(month from {{ start_period }}))
        )
    {%- endif -%}
{%- endmacro %}

{#- Decimal hours between two timestamps (later minus earlier), full precision. -#}
{% macro hours_between(start_timestamp, end_timestamp) -%}
    {{ return(adapter.dispatch('hours_between', 'saas_lifecycle')(start_timestamp, end_timestamp)) }}
{%- endmacro %}

{% macro default__hours_between(start_timestamp, end_timestamp) -%}
    {#- A double, as on DuckDB: Spark divides by a decimal literal in decimal arithmetic. -#}
    (cast(unix_micros({{ end_timestamp }}) - unix_micros({{ start_timestamp }}) as double) / 3600000000)
{%- endmacro %}

{% macro duckdb__hours_between(start_timestamp, end_timestamp) -%}
    (date_diff('microsecond', {{ start_timestamp }}, {{ end_timestamp }}) / 3600000000.0)
{%- endmacro %}

{#- A timestamp plus a number of hours (window arithmetic: N days = N x 24 h). -#}
{% macro add_hours(timestamp_expression, hours) -%}
    {{ return(adapter.dispatch('add_hours', 'saas_lifecycle')(timestamp_expression, hours)) }}
{%- endmacro %}

{% macro default__add_hours(timestamp_expression, hours) -%}
    ({{ timestamp_expression }} + make_interval(0, 0, 0, 0, cast({{ hours }} as int), 0, 0))
{%- endmacro %}

{% macro duckdb__add_hours(timestamp_expression, hours) -%}
    ({{ timestamp_expression }} + to_hours(cast({{ hours }} as bigint)))
{%- endmacro %}

{#- One row per date from start to end inclusive, column date_day. -#}
{% macro date_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('date_spine', 'saas_lifecycle')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__date_spine(start_date, end_date) -%}
    select explode(sequence(cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day)) as date_day
{%- endmacro %}

{% macro duckdb__date_spine(start_date, end_date) -%}
    select cast(unnest(generate_series(cast({{ start_date }} as timestamp), cast({{ end_date }} as timestamp), interval 1 day)) as date) as date_day
{%- endmacro %}

{#- The granularities of the cohort and period marts, with their period_number ranges. -#}
{% macro granularities() -%}
    {{ return({'day': 90, 'week': 52, 'month': 24}) }}
{%- endmacro %}
