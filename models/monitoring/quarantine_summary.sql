-- Rows read and rows quarantined per raw table and rule, so the counts are visible. Every
-- raw table has at least one row (rule `none` when nothing was quarantined), empty or
-- absent tables included.
{% set bases = [
    ('tracks', 'base_product__tracks', 'quarantine_product__tracks'),
    ('users', 'base_app__users', 'quarantine_app__users'),
    ('accounts', 'base_app__accounts', 'quarantine_app__accounts'),
    ('billing_events', 'base_billing__billing_events', 'quarantine_billing__billing_events'),
    ('survey_responses', 'base_surveys__survey_responses', 'quarantine_surveys__survey_responses'),
    ('support_tickets', 'base_support__support_tickets', 'quarantine_support__support_tickets'),
    ('email_events', 'base_email__email_events', 'quarantine_email__email_events'),
] %}

with

rules as (

    -- From the quarantine tables, which hold the bad rows already: the raw rows are read
    -- once more only to count them (totals).
    {% for table_name, base, quarantine in bases %}
        select
            '{{ table_name }}' as raw_table,
            quarantine_rule,
            count(*) as rows_in_rule
        from {{ ref(quarantine) }}
        group by quarantine_rule
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

totals as (

    -- An aggregate without group by returns one row even for an empty table.
    {% for table_name, base, quarantine in bases %}
        select
            '{{ table_name }}' as raw_table,
            (select count(*) from {{ ref(base) }}) as rows_read,
            (select count(*) from {{ ref(quarantine) }}) as rows_quarantined
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        totals.raw_table,
        coalesce(rules.quarantine_rule, 'none') as quarantine_rule,
        coalesce(rules.rows_in_rule, 0) as rows_quarantined_by_rule,
        totals.rows_quarantined,
        totals.rows_read,
        case
            when totals.rows_read > 0
                then cast(totals.rows_quarantined as double) / totals.rows_read
        end as quarantined_share

    from totals
    left join rules on totals.raw_table = rules.raw_table

)

select * from final
