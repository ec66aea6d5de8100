-- customer_health holds exactly the users of dim_users who are not churned at as_of_date:
-- returns every user missing from it and every row of a churned or unknown user.
with

dim_users as (

    select * from {{ ref('dim_users') }}

),

customer_health as (

    select * from {{ ref('customer_health') }}

),

missing as (

    select
        dim_users.user_id,
        'missing from customer_health' as problem

    from dim_users
    left join customer_health on dim_users.user_id = customer_health.user_id
    where not dim_users.is_churned and customer_health.user_id is null

),

unexpected as (

    select
        customer_health.user_id,
        'churned or unknown user in customer_health' as problem

    from customer_health
    left join dim_users on customer_health.user_id = dim_users.user_id
    where dim_users.user_id is null or dim_users.is_churned

),

final as (

    select * from missing
    union all
    select * from unexpected

)

select * from final
