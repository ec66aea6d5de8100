-- Users as they were at the end of as_of_date: the version in force then, only users
-- created before it. Deleted users stay (is_deleted).
with

user_versions as (

    select * from {{ ref('stg_app__user_versions') }}

),

in_force as (

    select *
    from user_versions
    where {{ version_in_force_at_as_of() }}

),

final as (

    select
        user_id,
        account_id,
        email_hash,
        role,
        created_at as signup_at,
        created_date as signup_date,
        {{ period_start('week', 'created_date') }} as signup_week,
        {{ period_start('month', 'created_date') }} as signup_month,
        deleted_at is not null and deleted_at < {{ as_of_end_at() }} as is_deleted

    from in_force

)

select * from final
