-- Account-level trial and paid conversion by the signup month of each account's first user,
-- for the (all, all) row set and each persona and channel, within conversion_window_days
-- (N x 24 h, inclusive) of that signup.
with

users as (

    select * from {{ ref('int_users') }}

),

user_segments as (

    select * from {{ ref('int_user_segments') }}

),

billing_events as (

    select * from {{ ref('int_billing_events_as_of') }}

),

ranked_users as (

    select
        account_id,
        user_id,
        signup_at,
        signup_month,
        row_number() over (partition by account_id order by signup_at, user_id) as signup_order

    from users

),

account_signups as (

    -- An account signs up with its first user (earliest signup_at, ties: user_id).
    select
        account_id,
        user_id as first_user_id,
        signup_at,
        signup_month,
        {{ add_hours('signup_at', 24 * var('conversion_window_days')) }} as window_end_at

    from ranked_users
    where signup_order = 1

),

trialing_accounts as (

    select distinct account_signups.account_id

    from account_signups
    inner join billing_events
        on
            account_signups.account_id = billing_events.account_id
            and billing_events.event_type = 'trial_started'
            and account_signups.signup_at <= billing_events.occurred_at
            and account_signups.window_end_at >= billing_events.occurred_at

),

first_paid_starts as (

    -- The account's first paid subscription start on any subscription, at or after signup.
    select
        account_signups.account_id,
        min(billing_events.occurred_at) as first_paid_at

    from account_signups
    inner join billing_events
        on
            account_signups.account_id = billing_events.account_id
            and billing_events.event_type = 'subscription_started'
            and billing_events.mrr_amount > 0
            and account_signups.signup_at <= billing_events.occurred_at
    group by account_signups.account_id

),

account_conversions as (

    select
        account_signups.account_id,
        account_signups.first_user_id,
        account_signups.signup_at,
        account_signups.signup_month,
        trialing_accounts.account_id is not null as is_trialing,
        coalesce(first_paid_starts.first_paid_at <= account_signups.window_end_at, false) as is_converted,
        case
            when first_paid_starts.first_paid_at <= account_signups.window_end_at
                then {{ hours_between('account_signups.signup_at', 'first_paid_starts.first_paid_at') }} / 24
        end as days_to_paid

    from account_signups
    left join trialing_accounts on account_signups.account_id = trialing_accounts.account_id
    left join first_paid_starts on account_signups.account_id = first_paid_starts.account_id

),

segmented as (

    select
        account_conversions.*,
        user_segments.segment_type,
        user_segments.segment_value

    from account_conversions
    inner join user_segments on account_conversions.first_user_id = user_segments.user_id

),

cohorts as (

    select
        signup_month,
        segment_type,
        segment_value,
        count(*) as accounts_signed_up,
        count(case when is_trialing then account_id end) as accounts_trialing,
        count(case when is_converted then account_id end) as accounts_converted,
        {{ percentile_cont('days_to_paid', 0.5) }} as median_days_to_paid,
        max(signup_at) as latest_signup_at

    from segmented
    group by signup_month, segment_type, segment_value

),

final as (

    select
        signup_month,
        segment_type,
        segment_value,
        accounts_signed_up,
        accounts_trialing,
        accounts_converted,
        {{ safe_divide('accounts_converted', 'accounts_signed_up') }} as conversion_rate,
        cast(median_days_to_paid as double) as median_days_to_paid,
        {{ cohort_window_complete('latest_signup_at', var('conversion_window_days')) }} as is_complete

    from cohorts
    {% if 'billing_events' in var('absent_raw_tables', []) -%}
        -- Without a billing system there is nothing to convert to: the mart is built empty
        -- (RAW_CONTRACT.md) rather than showing invented zero conversion rates.
        where 1 = 0
    {%- endif %}

)

select * from final
