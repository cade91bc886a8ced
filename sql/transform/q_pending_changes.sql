-- Unconsumed changes up to $1, collapsed to what the planner needs: the table, the
-- archivo (asignaciones) and the day. The document (pagos) is not needed: a payment
-- day slice is rebuilt whole.
-- $1 max id (bigint)
SELECT table_name, archivo, day, count(*)
FROM etl.pending_change
WHERE consumed_run_id IS NULL AND id <= $1::bigint
GROUP BY table_name, archivo, day
ORDER BY table_name, archivo, day
