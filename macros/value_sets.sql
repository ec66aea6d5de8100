{#- The value sets of RAW_CONTRACT.md whose violation sends a row to quarantine. -#}
{% macro billing_event_types() -%}
    {{ return(['trial_started', 'subscription_started', 'plan_changed',
               'subscription_canceled', 'subscription_reactivated', 'payment_failed']) }}
{%- endmacro %}

{% macro ticket_statuses() -%}
    {{ return(['new', 'open', 'pending', 'solved', 'closed']) }}
{%- endmacro %}

{% macro ticket_channels() -%}
    {{ return(['email', 'chat', 'phone', 'web']) }}
{%- endmacro %}

{% macro email_event_types() -%}
    {{ return(['delivered', 'opened', 'clicked', 'bounced', 'unsubscribed']) }}
{%- endmacro %}
