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

{#- Data tests on the incremental event tables check the loaded batch. A test opts in with a
    `where` config that names the batch through placeholders; this override of dbt's
    get_where_subquery replaces them when the test runs (yml configs cannot call project
    macros). The batch is the latest loaded_at of stg_product__tracks, the one watermark the
    event tables share:
      __batch_loaded_at__            that loaded_at, as a literal (so the scan skips older
                                     row groups);
      __batch_first_received_date__  the earliest received_date of the batch minus var
                                     incremental_lookback_days (a margin: the quarantine
                                     derives its reload window from its own latest date);
      __batch_first_occurred_date__  the earliest occurred_date of the batch (the dates
                                     int_identity_events_daily rebuilds are among those on
                                     or after it);
      __batch_anonymous_ids__        the anonymous ids stitched in the batch (the keys
                                     stg_product__identity_map recomputes).
    The whole table is tested instead (the where is dropped) by full_data_tests_due(). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__batch_' in where -%}
        {%- set tracks = batch_tracks_relation() -%}
        {%- if full_data_tests_due() -%}
            {%- do return(relation) -%}
        {%- endif -%}
        {%- set where = loaded_batch_condition(where, tracks) -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- stg_product__tracks, the table that holds loaded_at. Found in the graph, not by ref():
    a ref() that dbt did not see while parsing the test fails at run time. -#}
{% macro batch_tracks_relation() -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.name == 'stg_product__tracks' -%}
            {%- do return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if execute -%}
        {%- do exceptions.raise_compiler_error('batch-scoped data tests need the model stg_product__tracks') -%}
    {%- endif -%}
{%- endmacro %}

{#- True when the batch-scoped tests check whole tables in this run: on --full-refresh
    (every row is new), when var full_data_tests is true, or on the scheduled day: every
    var full_data_tests_every_n_days days by the UTC date the run started (days since
    0001-01-01 a multiple of n; with 7, every Sunday; 0 turns the schedule off). -#}
{% macro full_data_tests_due() -%}
    {%- set every_n_days = var('full_data_tests_every_n_days') | int -%}
    {%- set scheduled = every_n_days > 0 and run_started_at.date().toordinal() % every_n_days == 0 -%}
    {%- do return(flags.FULL_REFRESH or (var('full_data_tests') | string | lower == 'true') or scheduled) -%}
{%- endmacro %}

{#- `where` with the __batch_*__ placeholders replaced (see get_where_subquery). The batch
    is looked up when the test runs; while dbt only parses, the placeholders become nulls. -#}
{% macro loaded_batch_condition(where, tracks) -%}
    {%- set latest = none -%}
    {%- set first_received = none -%}
    {%- set first_occurred = none -%}
    {%- if execute -%}
        {%- set latest = run_query('select max(loaded_at) from ' ~ tracks).columns[0].values()[0] -%}
    {%- endif -%}
    {%- if latest is not none -%}
        {%- set latest_literal = "cast('" ~ latest ~ "' as timestamp)" -%}
        {%- set bounds = run_query(
            'select min(received_date), min(occurred_date) from ' ~ tracks
            ~ ' where loaded_at = ' ~ latest_literal
        ).rows[0] -%}
        {%- set first_received = bounds[0] -%}
        {%- set first_occurred = bounds[1] -%}
    {%- else -%}
        {%- set latest_literal = 'cast(null as timestamp)' -%}
    {%- endif -%}
    {%- set first_received_literal = "cast(cast('" ~ first_received ~ "' as timestamp) as date)"
        if first_received is not none else 'cast(null as date)' -%}
    {%- set first_occurred_literal = "cast(cast('" ~ first_occurred ~ "' as timestamp) as date)"
        if first_occurred is not none else 'cast(null as date)' -%}
    {%- set replacements = {
        '__batch_loaded_at__': latest_literal,
        '__batch_first_received_date__': add_periods('day', -1 * var('incremental_lookback_days'), first_received_literal),
        '__batch_first_occurred_date__': first_occurred_literal,
        '__batch_anonymous_ids__': '(select batch.anonymous_id from ' ~ tracks ~ ' as batch where batch.loaded_at = '
            ~ latest_literal ~ ' and batch.anonymous_id is not null and batch.user_id is not null)',
    } -%}
    {#- A namespace: a plain `set` inside a for loop does not outlive the loop. -#}
    {%- set condition = namespace(sql=where) -%}
    {%- for placeholder, sql in replacements.items() -%}
        {%- set condition.sql = condition.sql | replace(placeholder, sql) -%}
    {%- endfor -%}
    {%- do return(condition.sql) -%}
{%- endmacro %}
