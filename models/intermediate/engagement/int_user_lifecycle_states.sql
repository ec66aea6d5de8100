-- One row per user, granularity and period in which the user has a lifecycle state (the
-- rules of PostHog's lifecycle insight): `new` signed up in p and active in p; among users
-- who did not sign up in p, `returning` active in p and p-1, `resurrected` active in p and
-- not p-1, `dormant` active in p-1 and not p. A user who signed up in p and was not active
-- in p has no row for p. Only periods of the grid (none after the one of as_of_date).
with

active_periods as (

    select * from {{ ref('int_user_active_periods') }}

),

signup_periods as (

    select * from {{ ref('int_user_signup_periods') }}

),

periods as (

    select * from {{ ref('int_periods') }}

),

active_neighbours as (

    -- The user's previous and next active period of the same granularity.
    select
        user_id,
        granularity,
        period_start,
        lag(period_start) over (
            partition by user_id, granularity order by period_start
        ) as previous_active_period_start,
        lead(period_start) over (
            partition by user_id, granularity order by period_start
        ) as next_active_period_start

    from active_periods

),

active_states as (

    select
        active_neighbours.user_id,
        active_neighbours.granularity,
        active_neighbours.period_start,
        case
            when active_neighbours.period_start = signup_periods.period_start then 'new'
            when
                active_neighbours.previous_active_period_start
                = {{ add_periods_of('active_neighbours.granularity', -1, 'active_neighbours.period_start') }}
                then 'returning'
            else 'resurrected'
        end as lifecycle_state

    from active_neighbours
    inner join signup_periods
        on
            active_neighbours.user_id = signup_periods.user_id
            and active_neighbours.granularity = signup_periods.granularity

),

dormant_states as (

    -- Active in p-1 and not in p: the period after an active period that is not active.
    -- Such a user was active in p-1, so did not sign up in p.
    select
        user_id,
        granularity,
        {{ add_periods_of('granularity', 1, 'period_start') }} as period_start,
        'dormant' as lifecycle_state

    from active_neighbours
    where
        next_active_period_start is null
        or next_active_period_start <> {{ add_periods_of('granularity', 1, 'period_start') }}

),

all_states as (

    select * from active_states
    union all
    select * from dormant_states

),

final as (

    select
        all_states.user_id,
        all_states.granularity,
        all_states.period_start,
        all_states.lifecycle_state,
        all_states.lifecycle_state in ('returning', 'dormant') as was_active_in_previous_period

    from all_states
    -- Drops the dormant rows of the period after the one containing as_of_date.
    inner join periods
        on
            all_states.granularity = periods.granularity
            and all_states.period_start = periods.period_start

)

select * from final
