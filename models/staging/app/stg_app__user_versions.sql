-- Good user versions, one per (user_id, updated_at), e-mail hashed. valid_to is the next
-- version's updated_at, so a model can read the users table as it was at any instant.
with

good_rows as (

    select * from {{ ref('base_app__users') }}
    where quarantine_rule is null

),

deduplicated as (

-- CDC copies with the same updated_at are the same version: keep any one, deterministically.
    {{ deduplicate(
        'good_rows',
        partition_by='user_id, updated_at',
        order_by='account_id, created_at, email nulls last, role nulls last, deleted_at nulls last',
    ) }}

),

final as (

    select
        user_id,
        updated_at,
        lead(updated_at) over (partition by user_id order by updated_at) as valid_to,
        account_id,
        {{ hash_email('email') }} as email_hash,
        role,
        created_at,
        {{ local_date('created_at') }} as created_date,
        deleted_at

    from deduplicated

)

select * from final
