-- Good ticket versions, one per (ticket_id, updated_at). valid_to is the next version's
-- updated_at, so a model can read the tickets as they were at any instant.
with

good_rows as (

    select * from {{ ref('base_support__support_tickets') }}
    where quarantine_rule is null

),

deduplicated as (

-- CDC copies with the same updated_at are the same version: keep any one, deterministically.
    {{ deduplicate(
        'good_rows',
        partition_by='ticket_id, updated_at',
        order_by='status, created_at, solved_at nulls last, first_response_at nulls last',
    ) }}

),

final as (

    select
        ticket_id,
        updated_at,
        lead(updated_at) over (partition by ticket_id order by updated_at) as valid_to,
        user_id,
        channel,
        topic,
        status,
        created_at,
        {{ local_date('created_at') }} as created_date,
        first_response_at,
        solved_at

    from deduplicated

)

select * from final
