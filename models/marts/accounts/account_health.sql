-- One row per account that exists at as_of_date (every dim_accounts row): its users'
-- activity and customer_health scores rolled up, its MRR, and the MRR at risk.
with

accounts as (

    select * from {{ ref('dim_accounts') }}

),

users as (

    select * from {{ ref('dim_users') }}

),

customer_health as (

    select * from {{ ref('customer_health') }}

),

reason_kinds as (

        -- The kinds of reason customer_health writes, by a pattern that matches every count.
    {% for reason, pattern in [
        ('low activity', '%low activity (%'),
        ('declining activity', '%declining activity (%'),
        ('password resets', '%password reset%'),
        ('help article views', '%help article view%'),
        ('open tickets', '%open ticket%'),
    ] -%}
        select
            '{{ reason }}' as reason,
            '{{ pattern }}' as reason_pattern
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

user_reasons as (

    -- Each reason kind in a user's risk_reasons, without its count, so that "low activity
    -- (2 active days in last 14)" and "low activity (3 ...)" are the same reason.
    select
        users.account_id,
        customer_health.user_id,
        reason_kinds.reason

    from customer_health
    inner join users on customer_health.user_id = users.user_id
    inner join reason_kinds on customer_health.risk_reasons like reason_kinds.reason_pattern

),

reason_counts as (

    select
        account_id,
        reason,
        row_number() over (
            partition by account_id order by count(*) desc, reason
        ) as reason_rank

    from user_reasons
    group by account_id, reason

),

top_reasons as (

    select
        account_id,
        concat_ws(
            '; ',
            max(case when reason_rank = 1 then reason end),
            max(case when reason_rank = 2 then reason end),
            max(case when reason_rank = 3 then reason end)
        ) as top_risk_reasons

    from reason_counts
    group by account_id

),

user_rollup as (

    select
        users.account_id,
        count(*) as users,  -- noqa: RF04
        count(
            case
                when users.last_active_date >= {{ add_periods('day', -29, as_of_date()) }} then users.user_id
            end
        ) as active_users_last_30,
        -- Summed as decimals so the mean does not depend on the order rows arrive in (a
        -- double sum does, in its last bits); 12 places hold every score the formula gives
        -- to far below any shown precision.
        avg(cast(customer_health.health_score as decimal(38, 12))) as health_score,
        min(customer_health.health_score) as min_user_health_score,
        count(case when customer_health.health_band = 'at_risk' then users.user_id end) as at_risk_users,
        count(customer_health.user_id) as scored_users,
        max(users.last_active_date) as last_active_date

    from users
    left join customer_health on users.user_id = customer_health.user_id
    group by users.account_id

),

banded as (

    select
        accounts.account_id,
        accounts.persona,
        coalesce(user_rollup.users, 0) as users,  -- noqa: RF04
        coalesce(user_rollup.active_users_last_30, 0) as active_users_last_30,
        {{ safe_divide('user_rollup.active_users_last_30', 'user_rollup.users') }} as active_user_share,
        accounts.current_mrr,
        accounts.is_paying,
        cast(user_rollup.health_score as double) as health_score,
        cast(user_rollup.min_user_health_score as double) as min_user_health_score,
        coalesce(user_rollup.at_risk_users, 0) as at_risk_users,
        case
            when coalesce(user_rollup.scored_users, 0) = 0 then 'inactive'
            else {{ health_band_of('user_rollup.health_score') }}
        end as health_band,
        user_rollup.last_active_date,
        top_reasons.top_risk_reasons

    from accounts
    left join user_rollup on accounts.account_id = user_rollup.account_id
    left join top_reasons on accounts.account_id = top_reasons.account_id

),

final as (

    select
        account_id,
        {{ as_of_date() }} as as_of_date,
        persona,
        users,
        active_users_last_30,
        active_user_share,
        current_mrr,
        is_paying,
        health_score,
        min_user_health_score,
        at_risk_users,
        health_band,
        cast(
            case when is_paying and health_band in ('at_risk', 'inactive') then current_mrr else 0 end
            as {{ mrr_type() }}
        ) as mrr_at_risk,
        last_active_date,
        -- bigint on every engine (Spark's datediff gives int)
        cast(
            {{ days_between('last_active_date', as_of_date()) }} as {{ dbt.type_bigint() }}
        ) as days_since_last_active,
        top_risk_reasons

    from banded

)

select * from final
