-- Marks the changes the run consumed, in the transaction that rebuilds their slices.
-- $1 run id (bigint), $2 max id (bigint)
UPDATE etl.pending_change SET consumed_run_id = $1::bigint, consumed_at = now()
WHERE consumed_run_id IS NULL AND id <= $2::bigint
