-- One row per user, granularity (day, week, month) and period in which the user was active,
-- with the number of active days in it. Cohort, lifecycle and churn marts read this.
with

active_days as (

    select * from {{ ref('int_user_active_days') }}

),

{% for granularity in granularities() %}
    {{ granularity }}_periods as (

        select
            user_id,
            '{{ granularity }}' as granularity,
            {{ period_start(granularity, 'activity_date') }} as period_start,
            count(*) as active_days

        from active_days
        group by user_id, {{ period_start(granularity, 'activity_date') }}

    ),

{% endfor %}

final as (

    {% for granularity in granularities() %}
        select * from {{ granularity }}_periods
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from final
