-- Bumps the data version in the transaction that replaced mart rows (domain.md §3).
-- $1 run id (bigint), $2 reason (text)
UPDATE etl.data_version SET version = version + 1, updated_at = now(), run_id = $1::bigint, reason = $2::text
RETURNING version
