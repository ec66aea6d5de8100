{#- The relation to read a raw table from, with its lineage columns `filename` (the Parquet
    file) and `file_row_number` (the row in that file, from 0). An optional raw table that is
    absent (listed in var absent_raw_tables by the command line) becomes an empty relation
    with the contract's columns and types, taken from the source's documented columns, so
    that the models that need it build empty instead of failing.

    Where the rows are read from depends on the engine:
    - DuckDB: the Parquet folder RAW_DATA_DIR/<table> (the sources' external_location);
    - Spark: var raw_location `files` (default) reads the same Parquet folder as
      parquet.`RAW_DATA_DIR/<table>`; `schema` reads the table <raw_schema>.<table>, which
      must be file based (Parquet, Delta) for its lineage columns. -#}
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
                cast(null as {{ raw_column_type(column.data_type) }}) as {{ column.name }},
            {%- endfor %}
                cast(null as string) as filename,
                cast(null as bigint) as file_row_number
            where 1 = 0
        )
    {%- elif execute and graph.sources is defined -%}
        {{ return(adapter.dispatch('raw_relation', 'saas_lifecycle')(relation, table_name)) }}
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#- A present raw table with the lineage columns filename and file_row_number. -#}
{% macro default__raw_relation(relation, table_name) -%}
    {{ relation }}
{%- endmacro %}

{% macro duckdb__raw_relation(relation, table_name) -%}
    {#- The sources' external_location, with RAW_DATA_DIR as a quoted literal: a path with
        an apostrophe is a path, never SQL. -#}
    read_parquet(
        {{ sql_string(env_var('RAW_DATA_DIR', 'data/raw') ~ '/' ~ table_name ~ '/**/*.parquet') }},
        hive_partitioning = false,
        union_by_name = true,
        filename = true,
        file_row_number = true
    )
{%- endmacro %}

{% macro spark__raw_relation(relation, table_name) -%}
    {%- set raw_location = var('raw_location', 'files') -%}
    {%- if raw_location == 'files' -%}
        {%- set from_clause = 'parquet.' ~ spark_quoted_path(env_var('RAW_DATA_DIR', 'data/raw') ~ '/' ~ table_name) -%}
    {%- elif raw_location == 'schema' -%}
        {%- set from_clause = relation -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "var raw_location must be 'files' or 'schema', not '" ~ raw_location ~ "'"
        ) }}
    {%- endif -%}
    (
        select
            *,
            -- A local file's URI without its scheme, as DuckDB names it.
            regexp_replace(_metadata.file_path, '^file:', '') as filename,
            _metadata.row_index as file_row_number
        from {{ from_clause }}
    )
{%- endmacro %}

{#- A contract type of the sources (DuckDB names) as the engine spells it. -#}
{% macro raw_column_type(data_type) -%}
    {{ return(adapter.dispatch('raw_column_type', 'saas_lifecycle')(data_type)) }}
{%- endmacro %}

{% macro default__raw_column_type(data_type) -%}
    {{ return(data_type) }}
{%- endmacro %}

{% macro spark__raw_column_type(data_type) -%}
    {#- Spark has no varchar without a length, and its timestamp is already an instant. -#}
    {{ return({'varchar': 'string', 'timestamptz': 'timestamp'}.get(data_type | lower, data_type)) }}
{%- endmacro %}

{#- Where a raw row came from: its Parquet file and row number in that file, the key of the
    base views and quarantine tables (a bad row can be found in the raw data). The raw
    relations carry filename and file_row_number (raw_table above); a unit test's fixture
    has neither, so there (no source graph while it compiles) the columns are null. -#}
{% macro raw_row_lineage() -%}
    {%- if execute and graph.sources is defined -%}
        cast(filename as string) as source_file,
        cast(file_row_number as bigint) as source_row_number
    {%- else -%}
        cast(null as string) as source_file,
        cast(null as bigint) as source_row_number
    {%- endif -%}
{%- endmacro %}
