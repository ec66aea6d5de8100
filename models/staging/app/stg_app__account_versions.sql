-- Good account versions, one per (account_id, updated_at). valid_to is the next version's
-- updated_at, so a model can read the accounts table as it was at any instant.
with

good_rows as (

    select * from {{ ref('base_app__accounts') }}
    where quarantine_rule is null

),

deduplicated as (

-- CDC copies with the same updated_at are the same version: keep any one, deterministically.
    {{ deduplicate(
        'good_rows',
        partition_by='account_id, updated_at',
        order_by='created_at, account_name nulls last, company_size nulls last, industry nulls last',
    ) }}

),

final as (

    select
        account_id,
        updated_at,
        lead(updated_at) over (partition by account_id order by updated_at) as valid_to,
        account_name,
        company_size,
        industry,
        created_at

    from deduplicated

)

select * from final
