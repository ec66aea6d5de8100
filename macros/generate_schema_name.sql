{#- Custom schemas are used as they are (staging, marts, ...) so that BI tools find the
    marts in `marts` whatever the target schema is. Var build_schema_suffix (empty by
    default) appends a build slot, e.g. marts__blue: on Spark `lifecycle run` builds and
    validates a slot before it publishes it (macros/build_slots.sql). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}{{ var('build_schema_suffix', '') }}
    {%- else -%}
        {{ custom_schema_name | trim }}{{ var('build_schema_suffix', '') }}
    {%- endif -%}
{%- endmacro %}
