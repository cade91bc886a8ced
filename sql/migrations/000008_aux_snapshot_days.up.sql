-- The distinct snapshot days of aux.deuda_snapshot, by a loose scan of its key (day
-- first): one index probe per day instead of reading millions of rows. The transform
-- statements that look for an account's or a campaign's snapshot day read it.
CREATE VIEW aux.snapshot_days AS
WITH RECURSIVE sd AS (
    (SELECT fecha_proceso FROM aux.deuda_snapshot ORDER BY fecha_proceso LIMIT 1)
    UNION ALL
    SELECT (SELECT d.fecha_proceso FROM aux.deuda_snapshot d
            WHERE d.fecha_proceso > sd.fecha_proceso ORDER BY d.fecha_proceso LIMIT 1)
    FROM sd WHERE sd.fecha_proceso IS NOT NULL
)
SELECT fecha_proceso FROM sd WHERE fecha_proceso IS NOT NULL;
