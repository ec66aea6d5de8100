-- Raw users rows that break a rule of the raw contract, with the rule (never in staging).
select * from {{ ref('base_app__users') }}
where quarantine_rule is not null
