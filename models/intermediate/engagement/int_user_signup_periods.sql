-- One row per user and granularity (day, week, month): the period containing the user's
-- signup, i.e. the user's sign-up cohort. The cohort keys come from int_users as they are.
{%- set signup_columns = {'day': 'signup_date', 'week': 'signup_week', 'month': 'signup_month'} %}
with

users as (

    select * from {{ ref('int_users') }}

),

final as (

    {% for granularity in granularities() %}
        select
            user_id,
            '{{ granularity }}' as granularity,
            {{ signup_columns[granularity] }} as period_start
        from users
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from final
