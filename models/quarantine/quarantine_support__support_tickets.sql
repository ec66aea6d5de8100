-- Raw support_tickets rows that break a rule of the raw contract, with the rule (never in staging).
select * from {{ ref('base_support__support_tickets') }}
where quarantine_rule is not null
