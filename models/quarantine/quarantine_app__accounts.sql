-- Raw accounts rows that break a rule of the raw contract, with the rule (never in staging).
select * from {{ ref('base_app__accounts') }}
where quarantine_rule is not null
