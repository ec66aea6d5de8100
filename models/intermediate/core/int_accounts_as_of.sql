-- Accounts as they were at the end of as_of_date, with the persona of their company size.
with

account_versions as (

    select * from {{ ref('stg_app__account_versions') }}

),

in_force as (

    select *
    from account_versions
    where {{ version_in_force_at_as_of() }}

),

final as (

    select
        account_id,
        account_name,
        company_size,
        industry,
        created_at,
        {{ persona('company_size') }} as persona

    from in_force

)

select * from final
