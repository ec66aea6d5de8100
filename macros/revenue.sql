{#- Revenue-area helpers. Engine-specific SQL only behind adapter.dispatch. -#}

{#- The money type of every MRR column of the revenue marts: mrr_amount is decimal(18, 2)
    and fx rates decimal(18, 6), so a converted amount has 8 decimal places; 38 digits
    leave room for any sum. Casting to it never rounds. -#}
{% macro mrr_type() -%}
    decimal(38, 8)
{%- endmacro %}
