-- Raw billing_events rows that break a rule of the raw contract, with the rule (never in staging).
select * from {{ ref('base_billing__billing_events') }}
where quarantine_rule is not null
