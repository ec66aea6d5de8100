-- Net Promoter Score by month of submission (reporting timezone), for the (all, all) row
-- set and each persona and channel. Only nps surveys with a score, submitted before the end
-- of as_of_date, by users that exist at as_of_date; a user's latest response in the month
-- (ties: the largest response_id) counts once. Rows only for months with responses.
with

responses as (

    select * from {{ ref('stg_surveys__survey_responses') }}
    where
        survey_type = 'nps'
        and score is not null
        and submitted_at < {{ as_of_end_at() }}

),

users as (

    select * from {{ ref('int_users') }}

),

user_segments as (

    select * from {{ ref('int_user_segments') }}

),

ranked_responses as (

    select
        responses.user_id,
        responses.score,
        {{ period_start('month', 'responses.submitted_date') }} as month,  -- noqa: RF04
        row_number() over (
            partition by responses.user_id, {{ period_start('month', 'responses.submitted_date') }}
            order by responses.submitted_at desc, responses.response_id desc
        ) as response_rank

    from responses
    inner join users on responses.user_id = users.user_id

),

latest_responses as (

    select * from ranked_responses
    where response_rank = 1

),

segmented as (

    select
        latest_responses.month,
        latest_responses.score,
        user_segments.segment_type,
        user_segments.segment_value

    from latest_responses
    inner join user_segments on latest_responses.user_id = user_segments.user_id

),

monthly as (

    select
        month,
        segment_type,
        segment_value,
        count(*) as responses,
        count(case when score >= 9 then 1 end) as promoters,
        count(case when score between 7 and 8 then 1 end) as passives,
        count(case when score <= 6 then 1 end) as detractors

    from segmented
    group by month, segment_type, segment_value

),

final as (

    select
        monthly.month,
        monthly.segment_type,
        monthly.segment_value,
        monthly.responses,
        monthly.promoters,
        monthly.passives,
        monthly.detractors,
        100 * {{ safe_divide('monthly.promoters - monthly.detractors', 'monthly.responses') }} as nps,
        {{ is_complete_by(period_end('month', 'monthly.month')) }} as is_complete

    from monthly

)

select * from final
