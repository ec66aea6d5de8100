{#- The relation to read a raw table from. An optional raw table that is absent from the
    raw dir (listed in var absent_raw_tables by the command line) becomes an empty relation
    with the contract's columns and types, taken from the source's documented columns, so
    that the models that need it build empty instead of failing. -#}
{% macro raw_table(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {#- graph.sources is missing while dbt compiles a unit test: its fixture replaces the source. -#}
    {%- if execute and graph.sources is defined and table_name in var('absent_raw_tables', []) -%}
        {%- set node = graph.sources.values()
            | selectattr('source_name', 'equalto', source_name)
            | selectattr('name', 'equalto', table_name)
            | first -%}
        (
            select
            {%- for column in node.columns.values() %}
                cast(null as {{ column.data_type }}) as {{ column.name }},
            {%- endfor %}
                cast(null as varchar) as filename,
                cast(null as bigint) as file_row_number
            where 1 = 0
        )
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#- Where a raw row came from: its Parquet file and row number in that file, the key of the
    base views and quarantine tables (a bad row can be found in the raw data). The sources
    read Parquet with filename and file_row_number on; a unit test's fixture has neither, so
    there (no source graph while it compiles) the columns are null. -#}
{% macro raw_row_lineage() -%}
    {%- if execute and graph.sources is defined -%}
        cast(filename as varchar) as source_file,
        cast(file_row_number as bigint) as source_row_number
    {%- else -%}
        cast(null as varchar) as source_file,
        cast(null as bigint) as source_row_number
    {%- endif -%}
{%- endmacro %}
