{#- Identity resolution at the as-of cut-off, defined once for single events
    (int_events_resolved) and for the daily roll-up (int_user_events_daily). -#}

{#- The CTEs `identity_map` (mappings stitched before the cut-off) and `users` (user ids at
    as_of), for a model's with-list. -#}
{% macro as_of_identity_ctes() -%}
    identity_map as (

        select * from {{ ref('stg_product__identity_map') }}
        -- A mapping first seen after the cut-off does not exist yet at as_of.
        where stitched_at < {{ as_of_end_at() }}

    ),

    users as (

        select user_id from {{ ref('int_users_as_of') }}

    )
{%- endmacro %}

{#- Joins resolving the rows of `relation` (user_id and anonymous_id as sent) to `users`: a
    row's own user_id wins over its anonymous_id's mapping, and a user_id that is not in
    users at as_of is no user. users_join 'left' keeps unresolved rows (users.user_id
    null), 'inner' drops them. -#}
{% macro join_resolved_users(relation, users_join='left') -%}
    left join identity_map
        on
            {{ relation }}.user_id is null
            and {{ relation }}.anonymous_id = identity_map.anonymous_id
    {{ users_join }} join users
        on coalesce({{ relation }}.user_id, identity_map.user_id) = users.user_id
{%- endmacro %}
