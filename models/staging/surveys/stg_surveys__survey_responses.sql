-- Good survey responses, one per response_id (the earliest submitted copy).
with

good_rows as (

    select * from {{ ref('base_surveys__survey_responses') }}
    where quarantine_rule is null

),

deduplicated as (

    {{ deduplicate(
        'good_rows',
        partition_by='response_id',
        order_by='submitted_at, user_id, survey_type, score nulls last, comment nulls last',
    ) }}

),

final as (

    select
        response_id,
        user_id,
        survey_type,
        score,
        comment,
        submitted_at,
        {{ local_date('submitted_at') }} as submitted_date

    from deduplicated

)

select * from final
