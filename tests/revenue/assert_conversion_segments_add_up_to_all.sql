-- conversion_cohorts: for every signup month, each segment type's rows add up to the
-- (all, all) row (accounts signed up, trialing and converted), and each segment type is
-- present for every month that has an `all` row.
with

cohorts as (

    select * from {{ ref('conversion_cohorts') }}

),

all_rows as (

    select * from cohorts
    where segment_type = 'all'

),

segment_totals as (

    select
        signup_month,
        segment_type,
        sum(accounts_signed_up) as accounts_signed_up,
        sum(accounts_trialing) as accounts_trialing,
        sum(accounts_converted) as accounts_converted

    from cohorts
    where segment_type <> 'all'
    group by signup_month, segment_type

),

segment_types as (

    select 'persona' as segment_type
    union all
    select 'channel' as segment_type

),

expected as (

    select
        all_rows.signup_month,
        segment_types.segment_type,
        all_rows.accounts_signed_up,
        all_rows.accounts_trialing,
        all_rows.accounts_converted

    from all_rows
    cross join segment_types

),

final as (

    select
        coalesce(expected.signup_month, segment_totals.signup_month) as signup_month,
        coalesce(expected.segment_type, segment_totals.segment_type) as segment_type

    from expected
    full outer join segment_totals
        on
            expected.signup_month = segment_totals.signup_month
            and expected.segment_type = segment_totals.segment_type
    where
        expected.signup_month is null
        or segment_totals.signup_month is null
        or expected.accounts_signed_up <> segment_totals.accounts_signed_up
        or expected.accounts_trialing <> segment_totals.accounts_trialing
        or expected.accounts_converted <> segment_totals.accounts_converted

)

select * from final
