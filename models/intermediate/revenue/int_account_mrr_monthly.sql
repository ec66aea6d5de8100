-- Month-end MRR per account and month, from the account's first billing month to the month
-- of as_of_date. A subscription's state is its latest billing event before the month-end
-- instant (local midnight after the month's last day, or the end of as_of_date for the
-- current month); the account's MRR is the sum over its subscriptions, in the reporting
-- currency. States are intervals [occurred_at, superseded_at) joined to the month-end
-- instants by range, so each interval meets only the month ends it spans.
with

billing_events as (

    select * from {{ ref('int_billing_events_as_of') }}

),

as_of as (

    select * from {{ ref('int_as_of') }}

),

first_billing_months as (

    select
        account_id,
        min({{ period_start('month', 'occurred_date') }}) as first_billing_month

    from billing_events
    group by account_id

),

days as (

    {{ date_spine(
        '(select min(first_billing_month) from first_billing_months)',
        '(select as_of_date from as_of)',
    ) }}

),

months as (

    select distinct {{ period_start('month', 'date_day') }} as month  -- noqa: RF04
    from days

),

month_ends as (

    select
        months.month,
        -- The start of the next month in the reporting timezone, capped at the end of
        -- as_of_date for the current month.
        least(
            {{ local_midnight_utc(add_periods('month', 1, 'months.month')) }},
            as_of.as_of_end_at
        ) as month_end_at

    from months
    cross join as_of

),

state_intervals as (

    select
        billing_events.account_id,
        billing_events.mrr_amount_reporting,
        billing_events.occurred_at as valid_from,
        -- The current state holds until the cut-off, which every month end is at or before.
        coalesce(billing_events.superseded_at, as_of.as_of_end_at) as valid_to

    from billing_events
    cross join as_of
    where billing_events.is_effective

),

subscription_month_end_states as (

    -- The interval holding at a month-end instant: started before it, not yet replaced
    -- (a replacement at exactly the instant belongs to the next month).
    select
        state_intervals.account_id,
        month_ends.month,
        state_intervals.mrr_amount_reporting

    from state_intervals
    inner join month_ends
        on
            state_intervals.valid_from < month_ends.month_end_at
            and state_intervals.valid_to >= month_ends.month_end_at

),

account_month_end_mrr as (

    select
        account_id,
        month,
        sum(mrr_amount_reporting) as ending_mrr

    from subscription_month_end_states
    group by account_id, month

),

account_months as (

    select
        first_billing_months.account_id,
        month_ends.month,
        month_ends.month_end_at

    from first_billing_months
    inner join month_ends on first_billing_months.first_billing_month <= month_ends.month

),

final as (

    select
        account_months.account_id,
        account_months.month,
        account_months.month_end_at,
        cast(coalesce(account_month_end_mrr.ending_mrr, 0) as {{ mrr_type() }}) as ending_mrr

    from account_months
    left join account_month_end_mrr
        on
            account_months.account_id = account_month_end_mrr.account_id
            and account_months.month = account_month_end_mrr.month

)

select * from final
