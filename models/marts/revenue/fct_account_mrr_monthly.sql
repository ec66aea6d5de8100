-- One row per account and month from the account's first billing month to the month of
-- as_of_date: the month-end MRR against the previous month end, and the movement between.
with

account_months as (

    select * from {{ ref('int_account_mrr_monthly') }}

),

with_history as (

    select
        account_id,
        month,
        ending_mrr,
        -- The grid has no gaps, so the previous row is the previous month; the first
        -- billing month starts from 0.
        coalesce(
            lag(ending_mrr) over (partition by account_id order by month),
            0
        ) as starting_mrr,
        -- "Never paid before": no earlier month-end MRR above 0.
        coalesce(
            max(case when ending_mrr > 0 then 1 else 0 end) over (
                partition by account_id
                order by month
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) = 1 as has_paid_before

    from account_months

),

classified as (

    select
        account_id,
        month,
        starting_mrr,
        ending_mrr,
        ending_mrr - starting_mrr as mrr_change,
        case
            when starting_mrr = 0 and ending_mrr > 0 and has_paid_before then 'reactivation'
            when starting_mrr = 0 and ending_mrr > 0 then 'new'
            when starting_mrr > 0 and ending_mrr = 0 then 'churn'
            when starting_mrr > 0 and ending_mrr > starting_mrr then 'expansion'
            when starting_mrr > 0 and ending_mrr < starting_mrr then 'contraction'
            when starting_mrr > 0 and ending_mrr = starting_mrr then 'retained'
        end as movement

    from with_history

),

final as (

    select
        account_id,
        month,
        cast(starting_mrr as {{ mrr_type() }}) as starting_mrr,
        cast(ending_mrr as {{ mrr_type() }}) as ending_mrr,
        cast(mrr_change as {{ mrr_type() }}) as mrr_change,
        movement

    from classified

)

select * from final
