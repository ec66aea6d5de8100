{#- Period arithmetic when the granularity is a column (rows of several granularities in one
    relation). Each branch is the shared macro of periods.sql for that granularity, so the
    calendar rules still live in one place; these only dispatch on the row's value. -#}

{#- The date n periods after a date, for the granularity held in a column. -#}
{% macro add_periods_of(granularity_column, n, date_expression) -%}
    case {{ granularity_column }}
        {%- for granularity in granularities() %}
        when '{{ granularity }}' then {{ add_periods(granularity, n, date_expression) }}
        {%- endfor %}
    end
{%- endmacro %}

{#- Whole periods from one period start to another, for the granularity held in a column. -#}
{% macro periods_between_of(granularity_column, start_period, end_period) -%}
    case {{ granularity_column }}
        {%- for granularity in granularities() %}
        when '{{ granularity }}' then {{ periods_between(granularity, start_period, end_period) }}
        {%- endfor %}
    end
{%- endmacro %}

{#- For data tests: the period starts of a granularity from the one containing the first
    active day of anyone to the one containing as_of_date, derived from the active days and
    int_as_of directly (not from int_periods), to check the period grids of the marts. -#}
{% macro expected_activity_period_starts(granularity) -%}
    select distinct {{ period_start(granularity, 'date_day') }} as period_start
    from (
        {{ date_spine(
            '(select min(activity_date) from ' ~ ref('int_user_active_days') ~ ')',
            as_of_date(),
        ) }}
    ) as days
{%- endmacro %}
