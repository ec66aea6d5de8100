-- Raw survey_responses rows that break a rule of the raw contract, with the rule (never in staging).
select * from {{ ref('base_surveys__survey_responses') }}
where quarantine_rule is not null
