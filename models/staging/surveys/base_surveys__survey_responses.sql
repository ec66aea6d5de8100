{{ config(materialized='view') }}

-- Typed raw survey responses with the quarantine rule each row breaks (null for good rows).
with

source as (

    select * from {{ raw_table('surveys', 'survey_responses') }}

),

typed as (

    select
        cast(response_id as string) as response_id,
        cast(user_id as string) as user_id,
        cast(survey_type as string) as survey_type,
        cast(score as integer) as score,
        cast(comment as string) as comment,
        {{ utc_timestamp('submitted_at') }} as submitted_at,
        {{ raw_row_lineage() }}

    from source

),

checked as (

    select
        *,
        {{ quarantine_rule(
            not_null=['response_id', 'user_id', 'survey_type', 'submitted_at'],
            rules=[['score_out_of_range', 'score < 0 or score > 10']],
        ) }} as quarantine_rule

    from typed

)

select * from checked
