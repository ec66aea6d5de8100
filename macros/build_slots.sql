{#- Write-audit-publish where there is no database file to swap (Spark). `lifecycle run`
    builds every schema in one of two build slots, <schema>__blue or <schema>__green (var
    build_schema_suffix, see generate_schema_name), validates it, and only then publishes
    it: each published schema (marts, staging, ...) holds one view per model and seed,
    `select * from <schema>__<slot>.<name>`. The next run builds the other slot, so the
    published views never read a relation that is being rebuilt. The command line runs
    these macros with `dbt run-operation`, so they work on every dbt-spark connection
    method (session, thrift, http) and on dbt-databricks. The view monitoring.published_build
    records the published slot and whether its views are all switched;
    monitoring__<slot>.lifecycle_build_settings the incremental settings a slot's tables
    were built with. -#}

{#- The schema a node is published in: its schema without this invocation's build slot. -#}
{% macro published_schema_of(node) -%}
    {%- set suffix = var('build_schema_suffix', '') -%}
    {%- if suffix and node.schema.endswith(suffix) -%}
        {{ return(node.schema[:node.schema | length - suffix | length]) }}
    {%- endif -%}
    {{ return(node.schema) }}
{%- endmacro %}

{#- Points every published view at a slot: for each model and seed of the project built in
    <schema>__<slot>, create or replace the view <schema>.<name> on it (a table of that name,
    left by a plain dbt build, is dropped first). -#}
{% macro point_views_at_slot(slot) -%}
    {%- set created_schemas = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type in ('model', 'seed') -%}
        {%- set schema = published_schema_of(node) -%}
        {%- set built = adapter.get_relation(database=none, schema=schema ~ '__' ~ slot, identifier=node.alias) -%}
        {%- if built is not none -%}
            {%- if schema not in created_schemas -%}
                {%- do adapter.create_schema(api.Relation.create(schema=schema)) -%}
                {%- do created_schemas.append(schema) -%}
            {%- endif -%}
            {%- set published = adapter.get_relation(database=none, schema=schema, identifier=node.alias) -%}
            {%- if published is not none and not published.is_view -%}
                {%- do adapter.drop_relation(published) -%}
            {%- endif -%}
            {%- do run_query('create or replace view ' ~ schema ~ '.' ~ node.alias ~ ' as select * from ' ~ built) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- Records the published slot (one row: build_slot, run_id, published_at, views_switched). -#}
{% macro record_published_build(slot, run_id, published_at, views_switched) -%}
    {%- do run_query(
        "create or replace view monitoring.published_build as select '" ~ slot ~ "' as build_slot, '"
        ~ run_id ~ "' as run_id, timestamp '" ~ published_at ~ "' as published_at, "
        ~ (views_switched | string | lower) ~ " as views_switched"
    ) -%}
{%- endmacro %}

{#- Before a build: completes the switch of a run that died while publishing, forgets the
    incremental settings of the slot about to be rebuilt (a build that fails half-way must
    not look reusable), and logs one line `lifecycle-build-slot <json>` with the published
    slot, the slot to build and the settings its tables were last built with. -#}
{% macro prepare_build_slot() -%}
    {%- set marker = adapter.get_relation(database=none, schema='monitoring', identifier='published_build') -%}
    {%- set published_slot = none -%}
    {%- if marker is not none -%}
        {%- set published = run_query('select * from ' ~ marker).rows[0] -%}
        {%- set published_slot = published['build_slot'] -%}
        {%- if not published['views_switched'] -%}
            {%- do point_views_at_slot(published_slot) -%}
            {%- do record_published_build(published_slot, published['run_id'], published['published_at'], true) -%}
        {%- endif -%}
    {%- endif -%}
    {%- set build_slot = 'green' if published_slot == 'blue' else 'blue' -%}
    {%- set settings = {} -%}
    {%- set recorded = adapter.get_relation(
        database=none, schema='monitoring__' ~ build_slot, identifier='lifecycle_build_settings'
    ) -%}
    {%- if recorded is not none -%}
        {%- for row in run_query('select name, value from ' ~ recorded).rows -%}
            {%- do settings.update({row[0]: row[1]}) -%}
        {%- endfor -%}
        {%- do adapter.drop_relation(recorded) -%}
    {%- endif -%}
    {%- set slots = {'published': published_slot, 'build': build_slot, 'settings': settings} -%}
    {{ log('lifecycle-build-slot ' ~ tojson(slots), info=True) }}
{%- endmacro %}

{#- After every gate passed: records the slot's incremental settings (a mapping of strings),
    then the published slot and run, points every published view at the slot, and records
    that the switch is complete. -#}
{% macro publish_build_slot(slot, run_id, published_at, settings={}) -%}
    {%- do adapter.create_schema(api.Relation.create(schema='monitoring__' ~ slot)) -%}
    {%- set rows = [] -%}
    {%- for name, value in settings.items() -%}
        {%- set quoted = value | string | replace("'", "''") -%}
        {%- do rows.append("select '" ~ name ~ "' as name, '" ~ quoted ~ "' as value") -%}
    {%- endfor -%}
    {%- if rows -%}
        {%- do run_query(
            'create or replace view monitoring__' ~ slot ~ '.lifecycle_build_settings as '
            ~ rows | join(' union all ')
        ) -%}
    {%- endif -%}
    {%- do adapter.create_schema(api.Relation.create(schema='monitoring')) -%}
    {%- do record_published_build(slot, run_id, published_at, false) -%}
    {%- do point_views_at_slot(slot) -%}
    {%- do record_published_build(slot, run_id, published_at, true) -%}
{%- endmacro %}
