-- Time to value by signup week, for the (all, all) row set and each persona and channel:
-- members who reached first value (ever, up to as_of), the share who reached it within
-- 1, 7 and 30 days (N x 24 h, inclusive; null until every member has had N days) and
-- continuous percentiles of ttv_hours over the members who reached it.
{%- set value_windows = [1, 7, 30] %}
with

cohort_members as (

    {{ signup_week_cohort_members(columns=['ttv_hours']) }}

),

cohorts as (

    {{ signup_week_cohorts('cohort_members') }}

),

value_counts as (

    select
        signup_week,
        segment_type,
        segment_value,
        count(ttv_hours) as reached_value_users,
        {%- for days in value_windows %}
            count(case when ttv_hours <= 24 * {{ days }} then user_id end) as value_within_{{ days }}d_users,
        {%- endfor %}
        {{ percentile_cont('ttv_hours', 0.5) }} as median_ttv_hours,
        {{ percentile_cont('ttv_hours', 0.75) }} as p75_ttv_hours,
        {{ percentile_cont('ttv_hours', 0.9) }} as p90_ttv_hours

    from cohort_members
    group by signup_week, segment_type, segment_value

),

final as (

    select
        cohorts.signup_week,
        cohorts.segment_type,
        cohorts.segment_value,
        cohorts.signups,
        value_counts.reached_value_users,
        {%- for days in value_windows %}
            -- Null, never 0, until the cohort's latest member has had {{ days }} x 24 h.
            case
                when {{ cohort_window_complete('cohorts.latest_signup_at', days) }}
                    then {{ safe_divide('value_counts.value_within_' ~ days ~ 'd_users', 'cohorts.signups') }}
            end as value_within_{{ days }}d_rate,
        {%- endfor %}
        cast(value_counts.median_ttv_hours as double) as median_ttv_hours,
        cast(value_counts.p75_ttv_hours as double) as p75_ttv_hours,
        cast(value_counts.p90_ttv_hours as double) as p90_ttv_hours

    from cohorts
    inner join value_counts
        on
            cohorts.signup_week = value_counts.signup_week
            and cohorts.segment_type = value_counts.segment_type
            and cohorts.segment_value = value_counts.segment_value

)

select * from final
