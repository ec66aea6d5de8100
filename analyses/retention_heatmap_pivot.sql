-- Weekly sign-up cohort retention as a heatmap: one row per cohort, one column per week
-- after sign-up (0..12). Cells of periods that are not complete yet are left empty, so the
-- heatmap's lower-right triangle shows no half-measured weeks.
{% set weeks = range(0, 13) %}

with

retention as (

    select * from {{ ref('retention_cohorts') }}
    where
        cohort_granularity = 'week'
        and segment_type = {{ "'" ~ var('heatmap_segment_type', 'all') ~ "'" }}
        and segment_value = {{ "'" ~ var('heatmap_segment_value', 'all') ~ "'" }}

),

final as (

    select
        cohort_start,
        max(cohort_size) as cohort_size,
        {% for week in weeks %}
            max(case when period_number = {{ week }} and is_complete then retention_rate end)
                as week_{{ week }}{% if not loop.last %},{% endif %}
        {% endfor %}

    from retention
    group by cohort_start

)

select * from final
order by cohort_start
