-- Support tickets as they were at the end of as_of_date: per ticket the version in force
-- then (latest updated_at before as_of_end_at), only tickets created before it. A first
-- response or a solve stamped at or after the cut-off had not happened yet at as_of.
with

ticket_versions as (

    select * from {{ ref('stg_support__ticket_versions') }}

),

in_force as (

    select *
    from ticket_versions
    where {{ version_in_force_at_as_of() }}

),

final as (

    select
        ticket_id,
        user_id,
        channel,
        topic,
        status,
        created_at,
        created_date,
        {{ period_start('week', 'created_date') }} as created_week,
        case when first_response_at < {{ as_of_end_at() }} then first_response_at end as first_response_at,
        case when solved_at < {{ as_of_end_at() }} then solved_at end as solved_at

    from in_force

)

select * from final
