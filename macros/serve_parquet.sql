{#- Serving on Spark (saas_lifecycle/spark_target.py): the guarded run builds every layer in
    place, then writes the marts it serves as Parquet folders, one per mart, into a new run
    folder; the command line then writes the manifest and switches `current` to that folder.
    Run with `dbt run-operation export_marts --args '{location: ..., marts: [...]}'`, so it
    works on every dbt-spark connection method. Logs one line `lifecycle-export <json>` with
    the rows per mart and the build's as-of date and reporting time zone. -#}
{% macro export_marts(location, marts) -%}
    {%- set rows = {} -%}
    {%- for mart in marts -%}
        {%- set relation = adapter.get_relation(database=none, schema='marts', identifier=mart) -%}
        {%- if relation is none -%}
            {{ exceptions.raise_compiler_error('export_marts: no relation marts.' ~ mart) }}
        {%- endif -%}
        {%- set folder = (location ~ '/' ~ mart) | replace('\\', '\\\\') | replace("'", "\\'") -%}
        {%- do run_query("insert overwrite directory '" ~ folder ~ "' using parquet select * from " ~ relation) -%}
        {%- do rows.update({mart: run_query('select count(*) from ' ~ relation).columns[0].values()[0] | int}) -%}
    {%- endfor -%}
    {%- set as_of_relation = adapter.get_relation(
        database=none, schema='intermediate', identifier='int_as_of'
    ) -%}
    {%- set as_of = run_query(
        'select cast(as_of_date as string), reporting_timezone from ' ~ as_of_relation
    ).rows[0] -%}
    {%- set export = {'rows': rows, 'as_of_date': as_of[0], 'reporting_timezone': as_of[1]} -%}
    {{ log('lifecycle-export ' ~ tojson(export), info=True) }}
{%- endmacro %}
