-- The gestiones the pending changes inserted or changed (their raw rows carry the id
-- of the run that wrote them), where each is now (raw) and where it was (aux): the
-- transform rebuilds them and every gestión of those clients on those days (intento
-- numbers them), not whole days. Every changed row's day is a pending day, so $2/$3
-- bound the scan.
-- $1 max pending id (bigint), $2 from, $3 to (timestamptz: the pending days' bounds)
WITH runs AS (
    SELECT DISTINCT table_name, run_id
    FROM etl.pending_change
    WHERE consumed_run_id IS NULL AND id <= $1::bigint
      AND table_name IN ('voicebot_gestiones', 'mibotair_gestiones')
), changed AS (
    SELECT 'VOICEBOT'::text AS canal, v.uid, (v.date AT TIME ZONE INTERVAL '-05:00')::date AS fecha,
           v.document AS cod_luna
    FROM raw.voicebot_gestiones v
    WHERE v.date >= $2::timestamptz AND v.date < $3::timestamptz
      AND v.etl_run_id IN (SELECT run_id FROM runs WHERE table_name = 'voicebot_gestiones')
    UNION ALL
    SELECT 'CALL_CENTER', m.uid, (m.date AT TIME ZONE INTERVAL '-05:00')::date, m.document
    FROM raw.mibotair_gestiones m
    WHERE m.date >= $2::timestamptz AND m.date < $3::timestamptz
      AND m.etl_run_id IN (SELECT run_id FROM runs WHERE table_name = 'mibotair_gestiones')
)
SELECT c.canal, c.uid, c.fecha, c.cod_luna, g.fecha, g.cod_luna
FROM changed c
-- a primary key probe each (LIMIT keeps the planner from turning it into a join that
-- hashes the whole table)
LEFT JOIN LATERAL (
    SELECT g.fecha, g.cod_luna FROM aux.gestiones_unificadas g WHERE g.canal = c.canal AND g.gestion_uid = c.uid
    LIMIT 1
) g ON true
