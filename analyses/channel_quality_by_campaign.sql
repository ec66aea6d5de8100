-- Channel quality: for each first-touch channel and campaign, how many users signed up,
-- how many activated, reached first value, are still not churned, and how many of their
-- accounts converted to paid. Read: a campaign that brings many sign-ups but few activated
-- or retained users is buying the wrong audience.
with

users as (

    select * from {{ ref('dim_users') }}

),

accounts as (

    select * from {{ ref('dim_accounts') }}

),

final as (

    select
        users.channel,
        coalesce(users.utm_campaign, '(none)') as utm_campaign,
        count(*) as signups,
        avg(cast(users.is_activated as integer)) as activation_rate,
        avg(case when users.first_value_at is not null then 1 else 0 end) as reached_value_rate,
        avg(case when users.is_churned then 0 else 1 end) as not_churned_rate,
        count(distinct case when accounts.first_paid_at is not null then users.account_id end)
            as paying_accounts,
        count(distinct users.account_id) as signed_up_accounts
    from users
    left join accounts on users.account_id = accounts.account_id
    group by users.channel, coalesce(users.utm_campaign, '(none)')

)

select * from final
order by channel asc, signups desc
