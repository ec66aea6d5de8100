-- active_users_daily has exactly one row per date from the first active day of anyone to
-- as_of_date: no date missing, none extra. Returns the dates that differ.
with

expected as (

    {{ expected_activity_period_starts('day') }}

),

actual as (

    select date as period_start  -- noqa: RF04
    from {{ ref('active_users_daily') }}

),

missing as (

    select period_start from expected
    except
    select period_start from actual

),

extra as (

    select period_start from actual
    except
    select period_start from expected

),

final as (

    select
        'missing' as problem,
        period_start
    from missing
    union all
    select
        'extra' as problem,
        period_start
    from extra

)

select * from final
