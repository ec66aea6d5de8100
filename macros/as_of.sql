{#- The as-of cut-off, computed once in int_as_of (var as_of_date, or the latest local date
    of any good deduplicated active tracks row). Models use these scalar subqueries. -#}
{% macro as_of_date() -%}
    (select as_of_date from {{ ref('int_as_of') }})
{%- endmacro %}

{#- Exclusive UTC instant of local midnight after as_of_date: rows count when before it. -#}
{% macro as_of_end_at() -%}
    (select as_of_end_at from {{ ref('int_as_of') }})
{%- endmacro %}

{#- True when a period, window or cohort ending on a date is over at the end of as_of_date. -#}
{% macro is_complete_by(last_date_expression) -%}
    ({{ last_date_expression }} <= {{ as_of_date() }})
{%- endmacro %}

{#- Rate with a null for a zero denominator (METRICS.md: rates are null when nothing to divide). -#}
{% macro safe_divide(numerator, denominator) -%}
    case when {{ denominator }} = 0 or {{ denominator }} is null then null
        else cast({{ numerator }} as double) / {{ denominator }} end
{%- endmacro %}

{#- Filter (for a where clause) keeping, of a CDC versions model with updated_at, valid_to
    and created_at, the version of each id in force at the end of as_of_date: the latest
    captured before the cut-off, for ids created before it. -#}
{% macro version_in_force_at_as_of() -%}
    updated_at < {{ as_of_end_at() }}
    and (valid_to is null or valid_to >= {{ as_of_end_at() }})
    and created_at < {{ as_of_end_at() }}
{%- endmacro %}
