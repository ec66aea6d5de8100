{#- The plausible range of raw timestamps, as two SQL timestamp literals [earliest, latest]:
    earliest is var earliest_valid_date (a 1970 device clock or a default value is before
    it); latest is this build's start plus var max_clock_skew_hours (nothing can have been
    received later; a 2099 loader clock is after it). Rows outside are quarantined with a
    rule, so one broken clock never stops a run nor moves the incremental watermark.
    The date is parsed here, so a malformed var fails the compile instead of reaching SQL. -#}
{% macro valid_timestamp_bounds() -%}
    {%- set earliest = modules.datetime.date.fromisoformat(var('earliest_valid_date') | string) -%}
    {%- set skew = modules.datetime.timedelta(hours=var('max_clock_skew_hours') | float) -%}
    {%- set latest = (run_started_at + skew).strftime('%Y-%m-%d %H:%M:%S') -%}
    {{ return([
        "cast('" ~ earliest.isoformat() ~ " 00:00:00' as timestamp)",
        "cast('" ~ latest ~ "' as timestamp)",
    ]) }}
{%- endmacro %}
