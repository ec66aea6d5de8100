-- Raw users rows that break a rule of the raw contract, with the rule (never in staging).
-- The e-mail is hashed here too: clear text never leaves the base view.
select
    user_id,
    account_id,
    {{ hash_email('email') }} as email_hash,
    role,
    created_at,
    updated_at,
    deleted_at,
    source_file,
    source_row_number,
    quarantine_rule
from {{ ref('base_app__users') }}
where quarantine_rule is not null
