{#- Cohort retention, shared by retention_cohorts (sign-up cohorts) and activity_retention
    (recurring cohorts). Renders CTEs (each followed by a comma) that a model places after
    its import CTEs; the last one, `retention_rows`, holds one row per cohort and
    period_number:

        granularity, cohort_start, <segment_columns>, period_number, period_start,
        cohort_size, retained_users, retention_rate, unbounded_retained_users,
        unbounded_retention_rate, is_complete

    Inputs (relation or CTE names):
    - cohort_members: one row per cohort member: granularity, cohort_start (a period start
      of that granularity), user_id, and the `segment_columns` (extra cohort keys);
    - active_periods: int_user_active_periods (user_id, granularity, period_start);
    - periods: int_periods (granularity, period_start, is_complete), the period grid that
      ends with the period containing as_of_date, so no row exists for a period starting
      after it.

    Rows: every cohort with >= 1 member and every period_number 0..granularities()[g] whose
    period is in the grid. Period 0 is the whole cohort by definition (rates 1.0).
    retained_users: members active in the period. unbounded_retained_users: members active
    in the period or any later one up to as_of_date, counted from each member's last active
    period (members whose last active period is n or later), so members are never
    multiplied by periods. Activity after the last period_number shown still counts for
    unbounded retention of the periods shown. -#}
{% macro retention_ctes(cohort_members, active_periods, periods, segment_columns=[]) -%}
    {%- set key_columns = ['granularity', 'cohort_start'] + segment_columns %}

    retention_cohorts as (

        -- One row per cohort with at least one member.
        select
            {%- for column in key_columns %}
            {{ column }},
            {%- endfor %}
            count(distinct user_id) as cohort_size

        from {{ cohort_members }}
        group by {{ key_columns | join(', ') }}

    ),

    retention_grid as (

        -- Each cohort's periods 0..max that the period grid holds (none after as_of_date).
        select
            {%- for column in key_columns %}
            retention_cohorts.{{ column }},
            {%- endfor %}
            retention_cohorts.cohort_size,
            grid_periods.period_start,
            grid_periods.is_complete,
            {{ periods_between_of(
                'retention_cohorts.granularity', 'retention_cohorts.cohort_start', 'grid_periods.period_start'
            ) }} as period_number

        from retention_cohorts
        inner join {{ periods }} as grid_periods
            on
                retention_cohorts.granularity = grid_periods.granularity
                and retention_cohorts.cohort_start <= grid_periods.period_start
                and {{ last_retention_period_start_of('retention_cohorts.granularity', 'retention_cohorts.cohort_start') }}
                >= grid_periods.period_start

    ),

    retention_member_activity as (

        -- Members' active periods from their cohort's period to the last period shown.
        select
            {%- for column in key_columns %}
            members.{{ column }},
            {%- endfor %}
            members.user_id,
            member_periods.period_start

        from {{ cohort_members }} as members
        inner join {{ active_periods }} as member_periods
            on
                members.user_id = member_periods.user_id
                and members.granularity = member_periods.granularity
                and members.cohort_start <= member_periods.period_start
                and {{ last_retention_period_start_of('members.granularity', 'members.cohort_start') }}
                >= member_periods.period_start

    ),

    retention_retained as (

        select
            {%- for column in key_columns %}
            {{ column }},
            {%- endfor %}
            period_start,
            count(distinct user_id) as retained_users

        from retention_member_activity
        group by {{ key_columns | join(', ') }}, period_start

    ),

    retention_last_active_periods as (

        -- Each user's last active period of each granularity (at most as_of_date's period).
        select
            user_id,
            granularity,
            max(period_start) as last_active_period_start

        from {{ active_periods }}
        group by user_id, granularity

    ),

    retention_member_last_periods as (

        -- Each member's last active period as a period_number of their cohort, capped at
        -- the last period_number shown; members never active from the cohort's period on
        -- have no row (period 0 counts them by definition).
        select
            {%- for column in key_columns %}
            members.{{ column }},
            {%- endfor %}
            members.user_id,
            least(
                {{ periods_between_of(
                    'members.granularity', 'members.cohort_start', 'last_periods.last_active_period_start'
                ) }},
                {{ max_period_number_of('members.granularity') }}
            ) as last_period_number

        from {{ cohort_members }} as members
        inner join retention_last_active_periods as last_periods
            on
                members.user_id = last_periods.user_id
                and members.granularity = last_periods.granularity
                and members.cohort_start <= last_periods.last_active_period_start

    ),

    retention_last_period_counts as (

        select
            {%- for column in key_columns %}
            {{ column }},
            {%- endfor %}
            last_period_number,
            count(distinct user_id) as members_with_last_period

        from retention_member_last_periods
        group by {{ key_columns | join(', ') }}, last_period_number

    ),

    retention_unbounded as (

        -- Members whose last active period is period_number or later: a running sum from
        -- the latest period_number down.
        select
            {%- for column in key_columns %}
            retention_grid.{{ column }},
            {%- endfor %}
            retention_grid.period_number,
            sum(coalesce(retention_last_period_counts.members_with_last_period, 0)) over (
                partition by
                {%- for column in key_columns %}
                    retention_grid.{{ column }}{% if not loop.last %},{% endif %}
                {%- endfor %}
                order by retention_grid.period_number desc
                rows between unbounded preceding and current row
            ) as unbounded_retained_users

        from retention_grid
        left join retention_last_period_counts
            on
                {{ retention_keys_match('retention_grid', 'retention_last_period_counts', key_columns) }}
                and retention_grid.period_number = retention_last_period_counts.last_period_number

    ),

    retention_counts as (

        select
            {%- for column in key_columns %}
            retention_grid.{{ column }},
            {%- endfor %}
            retention_grid.period_number,
            retention_grid.period_start,
            retention_grid.cohort_size,
            -- Period 0 is the whole cohort by definition.
            case
                when retention_grid.period_number = 0 then retention_grid.cohort_size
                else coalesce(retention_retained.retained_users, 0)
            end as retained_users,
            case
                when retention_grid.period_number = 0 then retention_grid.cohort_size
                else retention_unbounded.unbounded_retained_users
            end as unbounded_retained_users,
            retention_grid.is_complete

        from retention_grid
        inner join retention_unbounded
            on
                {{ retention_keys_match('retention_grid', 'retention_unbounded', key_columns) }}
                and retention_grid.period_number = retention_unbounded.period_number
        left join retention_retained
            on
                {{ retention_keys_match('retention_grid', 'retention_retained', key_columns) }}
                and retention_grid.period_start = retention_retained.period_start

    ),

    retention_rows as (

        select
            {%- for column in key_columns %}
            {{ column }},
            {%- endfor %}
            period_number,
            period_start,
            cohort_size,
            retained_users,
            {{ safe_divide('retained_users', 'cohort_size') }} as retention_rate,
            unbounded_retained_users,
            {{ safe_divide('unbounded_retained_users', 'cohort_size') }} as unbounded_retention_rate,
            is_complete

        from retention_counts

    ),
{%- endmacro %}

{#- Start of the last period a cohort shows: cohort_start + granularities()[g] periods, for
    the granularity held in a column. -#}
{% macro last_retention_period_start_of(granularity_column, cohort_start) -%}
    case {{ granularity_column }}
        {%- for granularity, max_period_number in granularities().items() %}
        when '{{ granularity }}' then {{ add_periods(granularity, max_period_number, cohort_start) }}
        {%- endfor %}
    end
{%- endmacro %}

{#- The largest period_number the cohort marts show for the granularity held in a column
    (granularities(): day 90, week 52, month 24). -#}
{% macro max_period_number_of(granularity_column) -%}
    case {{ granularity_column }}
        {%- for granularity, max_period_number in granularities().items() %}
        when '{{ granularity }}' then {{ max_period_number }}
        {%- endfor %}
    end
{%- endmacro %}

{#- Join condition: the key columns of two relations are equal, one `and` per column. -#}
{% macro retention_keys_match(left, right, key_columns) -%}
    {%- for column in key_columns -%}
        {% if not loop.first %}
                and {% endif %}{{ left }}.{{ column }} = {{ right }}.{{ column }}
    {%- endfor -%}
{%- endmacro %}
