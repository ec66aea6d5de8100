-- Daily, weekly and monthly active users for every date from the first active day of anyone
-- to as_of_date. A user counts on date d for a window of w days when active on any day in
-- d - (w - 1) .. d. Distinct users per window are counted without a users x dates grid:
-- each user's active days become non-overlapping date ranges covered by the window (an
-- active day covers itself and the w - 1 days after it; ranges that overlap merge), and
-- the count on a date is the running sum of +1 at every range start and -1 after its end.
{%- set windows = {'dau': 1, 'wau': 7, 'mau': var('mau_window_days')} %}
with

activity_periods as (

    select * from {{ ref('int_activity_periods') }}
    where granularity = 'day'

),

active_days as (

    select * from {{ ref('int_user_active_days') }}

),

first_active_day as (

    -- The day grid starts at the first active day of anyone.
    select min(period_start) as first_active_date
    from activity_periods

),

previous_active_days as (

    select
        user_id,
        activity_date,
        lag(activity_date) over (partition by user_id order by activity_date) as previous_activity_date

    from active_days

),

{% for metric, window_days in windows.items() %}
    {{ metric }}_range_starts as (

        -- An active day starts a new covered range when the previous one's range
        -- ({{ window_days }} days from it) ends before it.
        select
            user_id,
            activity_date,
            case
                when
                    previous_activity_date is null
                    or {{ days_between('previous_activity_date', 'activity_date') }} >= {{ window_days }}
                    then 1
                else 0
            end as starts_range

        from previous_active_days

    ),

    {{ metric }}_range_numbers as (

        select
            user_id,
            activity_date,
            sum(starts_range) over (
                partition by user_id order by activity_date
                rows between unbounded preceding and current row
            ) as range_number

        from {{ metric }}_range_starts

    ),

    {{ metric }}_ranges as (

        -- Dates covered: from the range's first active day to {{ window_days }} - 1 days
        -- after its last one; covered_until is the first date no longer covered.
        select
            user_id,
            range_number,
            min(activity_date) as covered_from,
            {{ add_periods('day', window_days, 'max(activity_date)') }} as covered_until

        from {{ metric }}_range_numbers
        group by user_id, range_number

    ),

    {{ metric }}_range_edges as (

        -- +1 user on the first covered date of a range, -1 on the first date after it.
        select
            covered_from as change_date,
            1 as user_change
        from {{ metric }}_ranges
        union all
        select
            covered_until as change_date,
            -1 as user_change
        from {{ metric }}_ranges

    ),

    {{ metric }}_changes as (

        select
            change_date,
            sum(user_change) as user_change

        from {{ metric }}_range_edges
        group by change_date

    ),

    {{ metric }}_counts as (

        select
            activity_periods.period_start as activity_date,
            sum(coalesce({{ metric }}_changes.user_change, 0)) over (
                order by activity_periods.period_start
                rows between unbounded preceding and current row
            ) as {{ metric }}

        from activity_periods
        left join {{ metric }}_changes on activity_periods.period_start = {{ metric }}_changes.change_date

    ),

{% endfor %}

final as (

    select
        cast(activity_periods.period_start as date) as date,  -- noqa: RF04
        {% for metric in windows %}
            cast({{ metric }}_counts.{{ metric }} as bigint) as {{ metric }},
        {% endfor %}
        cast({{ safe_divide('dau_counts.dau', 'mau_counts.mau') }} as double) as stickiness,
        {{ add_periods('day', 1 - var('mau_window_days'), 'activity_periods.period_start') }}
        >= first_active_day.first_active_date as mau_window_complete

    from activity_periods
    cross join first_active_day
    {% for metric in windows %}
        inner join {{ metric }}_counts on activity_periods.period_start = {{ metric }}_counts.activity_date
    {% endfor %}

)

select * from final
