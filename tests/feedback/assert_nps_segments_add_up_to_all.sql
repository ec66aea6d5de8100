-- In nps_monthly the rows of each segment_type (persona, channel) of a month add up to the
-- month's (all, all) row: responses, promoters, passives and detractors. Returns every
-- month and segment_type whose sums differ.
with

nps as (

    select * from {{ ref('nps_monthly') }}

),

segment_types as (

    select 'persona' as segment_type
    union all
    select 'channel' as segment_type

),

totals as (

    select * from nps
    where segment_type = 'all'

),

segment_sums as (

    select
        month,
        segment_type,
        sum(responses) as responses,
        sum(promoters) as promoters,
        sum(passives) as passives,
        sum(detractors) as detractors

    from nps
    where segment_type != 'all'
    group by month, segment_type

),

expected_segments as (

    select
        totals.month,
        segment_types.segment_type,
        totals.responses,
        totals.promoters,
        totals.passives,
        totals.detractors

    from totals
    cross join segment_types

),

final as (

    select
        coalesce(expected_segments.month, segment_sums.month) as month,  -- noqa: RF04
        coalesce(expected_segments.segment_type, segment_sums.segment_type) as segment_type,
        expected_segments.responses as all_responses,
        segment_sums.responses as segment_responses,
        expected_segments.promoters as all_promoters,
        segment_sums.promoters as segment_promoters,
        expected_segments.passives as all_passives,
        segment_sums.passives as segment_passives,
        expected_segments.detractors as all_detractors,
        segment_sums.detractors as segment_detractors

    from expected_segments
    full outer join segment_sums
        on
            expected_segments.month = segment_sums.month
            and expected_segments.segment_type = segment_sums.segment_type

)

select * from final
where
    all_responses is null
    or segment_responses is null
    or all_responses != segment_responses
    or all_promoters != segment_promoters
    or all_passives != segment_passives
    or all_detractors != segment_detractors
