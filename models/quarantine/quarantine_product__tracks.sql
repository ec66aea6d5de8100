-- Raw tracks rows that break a rule of the raw contract, with the rule (never in staging).
select * from {{ ref('base_product__tracks') }}
where quarantine_rule is not null
