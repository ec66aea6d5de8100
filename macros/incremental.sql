{#- Incremental loading by date partitions. A model that is incremental here rebuilds whole
    date partitions (a received date, an occurred date): every run recomputes the partitions
    its new rows touch and leaves the others alone. Both engines do the same thing with the
    strategy they support on plain tables: DuckDB deletes the batch's partitions and inserts
    (delete+insert on the partition column), Spark overwrites them (insert_overwrite with a
    partition_by on the same column; Parquet tables need no Delta or Iceberg). -#}

{#- Config of a model incremental by the date column `partition_column`; pass it to
    config(**...). -#}
{% macro date_partitioned_incremental(partition_column) -%}
    {{ return(adapter.dispatch('date_partitioned_incremental', 'saas_lifecycle')(partition_column)) }}
{%- endmacro %}

{% macro default__date_partitioned_incremental(partition_column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': partition_column,
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{% macro spark__date_partitioned_incremental(partition_column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite',
        'partition_by': [partition_column],
        'file_format': 'parquet',
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{#- The first received date (UTC) that an incremental run of the event tables reloads: the
    latest received date already loaded minus var incremental_lookback_days, so rows that
    land in raw files a little after the run that loaded their day are picked up. Only
    meaningful inside `is_incremental()`. In a run it is looked up first and written into
    the SQL as a literal date: a literal reaches the Parquet scan as a filter (row groups of
    older days are skipped), a subquery would not. A unit test keeps the subquery (its
    `this` is a fixture that no query can read beforehand). -#}
{% macro reload_from_received_date(partition_column='received_date') -%}
    {%- set lookup -%}
        select {{ add_periods('day', -1 * var('incremental_lookback_days'), 'max(' ~ partition_column ~ ')') }}
        from {{ this }}
        where {{ partition_column }} > cast('1970-01-01' as date)
    {%- endset -%}
    {%- if execute and model.resource_type == 'model' -%}
        {%- set latest = run_query(lookup).columns[0].values()[0] -%}
        cast('{{ latest if latest is not none else "1970-01-02" }}' as date)
    {%- else -%}
        ({{ lookup }})
    {%- endif -%}
{%- endmacro %}

{#- Config of a model incremental by a key: a run replaces the rows of the keys its batch
    touches (DuckDB delete+insert on `key_column`). Spark's plain Parquet tables can only
    overwrite partitions, not keys, so there the model is a table rebuilt on every run
    (a cluster with Delta can make it a merge). -#}
{% macro keyed_incremental(key_column) -%}
    {{ return(adapter.dispatch('keyed_incremental', 'saas_lifecycle')(key_column)) }}
{%- endmacro %}

{% macro default__keyed_incremental(key_column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': key_column,
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{% macro spark__keyed_incremental(key_column) -%}
    {{ return({'materialized': 'table', 'file_format': 'parquet'}) }}
{%- endmacro %}

{#- Condition true for the rows of `relation` loaded by the latest run (its loaded_at). -#}
{% macro in_latest_batch(relation) -%}
    loaded_at = (select max(loaded_at) from {{ relation }})
{%- endmacro %}
