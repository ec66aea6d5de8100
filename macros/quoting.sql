{#- A value from the user (a path, a time zone) as a SQL string literal, never as code.
    Engines escape differently: DuckDB follows the standard (a quote is doubled, a backslash
    is an ordinary character); Spark SQL reads backslash escapes inside '...'. -#}
{% macro sql_string(value) -%}
    {{ return(adapter.dispatch('sql_string', 'saas_lifecycle')(value | string)) }}
{%- endmacro %}

{% macro default__sql_string(value) -%}
    {{ return("'" ~ value.replace("'", "''") ~ "'") }}
{%- endmacro %}

{% macro spark__sql_string(value) -%}
    {{ return("'" ~ value.replace('\\', '\\\\').replace("'", "\\'") ~ "'") }}
{%- endmacro %}

{#- A file path as a Spark SQL quoted identifier, as in parquet.`path`: a backtick is doubled. -#}
{% macro spark_quoted_path(path) -%}
    {{ return('`' ~ (path | string).replace('`', '``') ~ '`') }}
{%- endmacro %}
