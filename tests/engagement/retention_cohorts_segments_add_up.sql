-- For each cohort and period, the persona rows and the channel rows each add up to the
-- (all, all) row: cohort_size, retained_users and unbounded_retained_users. Returns the
-- cohorts, periods and segment types that do not.
with

retention_cohorts as (

    select * from {{ ref('retention_cohorts') }}

),

all_rows as (

    select * from retention_cohorts
    where segment_type = 'all'

),

segment_sums as (

    select
        cohort_granularity,
        cohort_start,
        period_number,
        segment_type,
        sum(cohort_size) as cohort_size,
        sum(retained_users) as retained_users,
        sum(unbounded_retained_users) as unbounded_retained_users

    from retention_cohorts
    where segment_type in ('persona', 'channel')
    group by cohort_granularity, cohort_start, period_number, segment_type

),

segment_types as (

    select 'persona' as segment_type
    union all
    select 'channel' as segment_type

),

expected_segment_types as (

    select
        all_rows.cohort_granularity,
        all_rows.cohort_start,
        all_rows.period_number,
        all_rows.cohort_size,
        all_rows.retained_users,
        all_rows.unbounded_retained_users,
        segment_types.segment_type

    from all_rows
    cross join segment_types

),

final as (

    select
        expected_segment_types.cohort_granularity,
        expected_segment_types.cohort_start,
        expected_segment_types.period_number,
        expected_segment_types.segment_type,
        expected_segment_types.cohort_size as all_cohort_size,
        segment_sums.cohort_size as segment_cohort_size

    from expected_segment_types
    left join segment_sums
        on
            expected_segment_types.cohort_granularity = segment_sums.cohort_granularity
            and expected_segment_types.cohort_start = segment_sums.cohort_start
            and expected_segment_types.period_number = segment_sums.period_number
            and expected_segment_types.segment_type = segment_sums.segment_type
    where
        segment_sums.cohort_size is null
        or segment_sums.cohort_size <> expected_segment_types.cohort_size
        or segment_sums.retained_users <> expected_segment_types.retained_users
        or segment_sums.unbounded_retained_users <> expected_segment_types.unbounded_retained_users

)

select * from final
