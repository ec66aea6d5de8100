{#- Salted SHA-256 of a normalised e-mail address: the clear text never leaves staging.
    The salt comes from env var LIFECYCLE_EMAIL_SALT (README documents the default). -#}
{% macro hash_email(column) -%}
    {{ return(adapter.dispatch('hash_email', 'saas_lifecycle')(column)) }}
{%- endmacro %}

{% macro default__hash_email(column) -%}
    case when {{ column }} is not null
        then sha2(concat('{{ env_var("LIFECYCLE_EMAIL_SALT", "saas-lifecycle-demo-salt") | replace("'", "''") }}', lower(trim({{ column }}))), 256)
    end
{%- endmacro %}

{% macro duckdb__hash_email(column) -%}
    case when {{ column }} is not null
        then sha256(concat('{{ env_var("LIFECYCLE_EMAIL_SALT", "saas-lifecycle-demo-salt") | replace("'", "''") }}', lower(trim({{ column }}))))
    end
{%- endmacro %}
