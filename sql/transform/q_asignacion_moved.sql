-- Per rebuilt campaign, the first day its dashboard can differ because an account's
-- row changed (domain.md §6: "earliest old snap_asig of a's accounts whose snap_asig
-- the change can move", measured instead of predicted). An account counts in the
-- dashboard from GREATEST(fecha_asignacion, event day): an account that appeared,
-- vanished or changed its assignment day, client or servicio differs from its
-- earliest assignment day; one whose snapshot (snap_asig, deuda_asig, gestionable)
-- changed, from the earlier of its old and new snapshot events.
-- $1 archivos (text[])
SELECT archivo, min(day) AS day
FROM (
    SELECT COALESCE(n.archivo, o.archivo) AS archivo,
           CASE WHEN o.cuenta IS NULL OR n.cuenta IS NULL
                  OR (o.fecha_asignacion, o.cod_luna, o.servicio) IS DISTINCT FROM
                     (n.fecha_asignacion, n.cod_luna, n.servicio)
                THEN LEAST(o.fecha_asignacion, n.fecha_asignacion)
                ELSE COALESCE(LEAST(CASE WHEN o.snap_asig IS NOT NULL THEN GREATEST(o.fecha_asignacion, o.snap_asig) END,
                                    CASE WHEN n.snap_asig IS NOT NULL THEN GREATEST(n.fecha_asignacion, n.snap_asig) END),
                              n.fecha_asignacion)
           END AS day
    FROM asignacion_before o
    FULL JOIN (SELECT * FROM aux.asignacion_cuenta WHERE archivo = ANY ($1::text[])) n
           ON n.archivo = o.archivo AND n.cuenta = o.cuenta
    WHERE (o.fecha_asignacion, o.cod_luna, o.servicio, o.snap_asig, o.deuda_asig, o.gestionable) IS DISTINCT FROM
          (n.fecha_asignacion, n.cod_luna, n.servicio, n.snap_asig, n.deuda_asig, n.gestionable)
) moved
GROUP BY archivo
ORDER BY archivo
