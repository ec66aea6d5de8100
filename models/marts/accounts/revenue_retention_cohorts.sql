-- One row per cohort month and months_since (0..24) whose month starts on or before
-- as_of_date: the accounts whose first paid month (movement `new`) is the cohort month, and
-- their month-end MRR and paying count months later (reactivation and expansion included).
with

account_months as (

    select * from {{ ref('fct_account_mrr_monthly') }}

),

as_of as (

    select * from {{ ref('int_as_of') }}

),

cohort_members as (

    select
        account_id,
        month as cohort_month,
        ending_mrr as cohort_starting_mrr

    from account_months
    where movement = 'new'

),

offsets as (

    {% for months_since in range(25) -%}
        select {{ months_since }} as months_since
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

cohort_offsets as (

    -- Every months_since whose month starts on or before as_of_date.
    select distinct
        cohort_members.cohort_month,
        offsets.months_since,
        {{ add_periods('month', 'offsets.months_since', 'cohort_members.cohort_month') }} as month  -- noqa: RF04

    from cohort_members
    cross join offsets
    cross join as_of
    where {{ add_periods('month', 'offsets.months_since', 'cohort_members.cohort_month') }} <= as_of.as_of_date

),

cohort_sizes as (

    select
        cohort_month,
        count(*) as cohort_accounts,
        sum(cohort_starting_mrr) as cohort_starting_mrr

    from cohort_members
    group by cohort_month

),

member_months as (

    -- The account grid has a row for every month from the first billing month to the
    -- as_of month, so every member has a row in every cohort offset month.
    select
        cohort_offsets.cohort_month,
        cohort_offsets.months_since,
        count(case when account_months.ending_mrr > 0 then account_months.account_id end) as retained_accounts,
        sum(account_months.ending_mrr) as mrr

    from cohort_offsets
    inner join cohort_members on cohort_offsets.cohort_month = cohort_members.cohort_month
    inner join account_months
        on
            cohort_members.account_id = account_months.account_id
            and cohort_offsets.month = account_months.month
    group by cohort_offsets.cohort_month, cohort_offsets.months_since

),

final as (

    select
        cohort_offsets.cohort_month,
        cohort_offsets.months_since,
        cohort_offsets.month,
        cohort_sizes.cohort_accounts,
        cast(cohort_sizes.cohort_starting_mrr as {{ mrr_type() }}) as cohort_starting_mrr,
        coalesce(member_months.retained_accounts, 0) as retained_accounts,
        cast(coalesce(member_months.mrr, 0) as {{ mrr_type() }}) as mrr,
        {{ safe_divide('coalesce(member_months.mrr, 0)', 'cohort_sizes.cohort_starting_mrr') }} as net_mrr_retention,
        {{ safe_divide('coalesce(member_months.retained_accounts, 0)', 'cohort_sizes.cohort_accounts') }}
            as logo_retention,
        {{ is_complete_by(period_end('month', 'cohort_offsets.month')) }} as is_complete

    from cohort_offsets
    inner join cohort_sizes on cohort_offsets.cohort_month = cohort_sizes.cohort_month
    left join member_months
        on
            cohort_offsets.cohort_month = member_months.cohort_month
            and cohort_offsets.months_since = member_months.months_since

)

select * from final
