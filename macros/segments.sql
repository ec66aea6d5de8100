{#- Persona of a company size (METRICS.md): null -> unknown, <= 1 -> solo, 2-199 -> smb,
    >= 200 -> enterprise. -#}
{% macro persona(company_size) -%}
    case
        when {{ company_size }} is null then 'unknown'
        when {{ company_size }} <= 1 then 'solo'
        when {{ company_size }} < 200 then 'smb'
        else 'enterprise'
    end
{%- endmacro %}
