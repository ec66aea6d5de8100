{#- Salted SHA-256 of a normalised e-mail address: the clear text never leaves staging.
    The salt (env var LIFECYCLE_EMAIL_SALT, README documents the default) is read when the
    query runs, never written into the SQL: on DuckDB from a session variable that the
    profile's plugin (saas_lifecycle/dbt_salt.py) sets on every cursor, on Spark from the
    session conf spark.lifecycle.email_salt that the profile sets. So compiled SQL, the
    manifest, run results, logs and docs only ever show email_salt()'s expression. A
    unit test pins the salt by overriding the email_salt macro. -#}
{% macro hash_email(column) -%}
    {{ return(adapter.dispatch('hash_email', 'saas_lifecycle')(column)) }}
{%- endmacro %}

{% macro default__hash_email(column) -%}
    case when {{ column }} is not null
        then sha2(concat({{ email_salt() }}, lower(trim({{ column }}))), 256)
    end
{%- endmacro %}

{% macro duckdb__hash_email(column) -%}
    case when {{ column }} is not null
        then sha256(concat({{ email_salt() }}, lower(trim({{ column }}))))
    end
{%- endmacro %}

{#- The salt as an SQL expression evaluated at run time. Without it (a profile that does not
    set it) the query fails rather than hash with no salt. -#}
{% macro email_salt() -%}
    {{ return(adapter.dispatch('email_salt', 'saas_lifecycle')()) }}
{%- endmacro %}

{% macro duckdb__email_salt() -%}
    coalesce(
        getvariable('lifecycle_email_salt'),
        error('no e-mail salt: the DuckDB profile needs plugin saas_lifecycle.dbt_salt')
    )
{%- endmacro %}

{#- Spark substitutes ${...} with the session conf before it parses the query (an unset conf
    becomes an empty string, which the first branch catches). -#}
{% macro default__email_salt() -%}
    case
        when '${spark.lifecycle.email_salt}' = ''
            then raise_error('no e-mail salt: the Spark profile needs spark.lifecycle.email_salt')
        else '${spark.lifecycle.email_salt}'
    end
{%- endmacro %}
