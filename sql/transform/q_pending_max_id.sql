-- The newest unconsumed change: the transform consumes exactly the rows up to it.
SELECT COALESCE(max(id), 0) FROM etl.pending_change WHERE consumed_run_id IS NULL
