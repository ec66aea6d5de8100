-- Raw email_events rows that break a rule of the raw contract, with the rule (never in staging).
select * from {{ ref('base_email__email_events') }}
where quarantine_rule is not null
