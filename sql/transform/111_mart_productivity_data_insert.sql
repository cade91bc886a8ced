-- mart.productivity_data (domain.md §5.4): attributed CALL_CENTER gestiones per (day,
-- agent, archivo_principal); nombre/dni from the row's latest gestión (ts, then uid).
-- Recovery credit, searched across campaigns: for each payment p (valid, in
-- aux.pago_campana) the candidates are CALL_CENTER PDP gestiones g with
-- archivo_principal = a campaign a of p, (g, a, p's account) in aux.gestion_cuenta and
-- g.fecha ≤ fecha_pago ≤ g.fecha + $3 days; the latest candidate (ts, then uid) gets
-- the amount, once. Only payments that can reach a day of the slice are searched
-- (fecha_pago in [d, d + $3] for a day d), and only credits landing in the slice kept.
-- $1 all (boolean), $2 days (date[]), $3 pdp_recovery_days (integer)
INSERT INTO mart.productivity_data (
    fecha_foto, correo_agente, archivo, nombre_agente, dni_agente, total_gestiones, contactos_efectivos,
    contactos_indirectos, total_pdp, peso_total, monto_recuperado, pagos_atribuidos)
WITH base AS (
    SELECT g.fecha, g.correo_agente, g.archivo_principal AS archivo,
           (array_agg(g.nombre_agente ORDER BY g.ts DESC, g.gestion_uid COLLATE "C" DESC))[1] AS nombre_agente,
           (array_agg(g.dni_agente ORDER BY g.ts DESC, g.gestion_uid COLLATE "C" DESC))[1] AS dni_agente,
           count(*) AS total, count(*) FILTER (WHERE g.es_cd) AS cd, count(*) FILTER (WHERE g.es_ci) AS ci,
           count(*) FILTER (WHERE g.es_pdp) AS pdp, sum(g.peso) AS peso
    FROM aux.gestiones_unificadas g
    WHERE g.canal = 'CALL_CENTER' AND g.atribuida AND ($1::boolean OR g.fecha = ANY ($2::date[]))
    GROUP BY g.fecha, g.correo_agente, g.archivo_principal
), credit AS (
    SELECT DISTINCT ON (p.nro_documento, p.fecha_pago, p.monto_cancelado)
           p.monto_cancelado AS monto, g.fecha, g.correo_agente, g.archivo_principal AS archivo
    FROM aux.pago_campana p
    JOIN aux.gestion_cuenta gc ON gc.archivo = p.archivo AND gc.cuenta = p.cuenta AND gc.canal = 'CALL_CENTER'
                              AND gc.es_pdp AND gc.fecha BETWEEN p.fecha_pago - $3::integer AND p.fecha_pago
    JOIN aux.gestiones_unificadas g ON g.canal = gc.canal AND g.gestion_uid = gc.gestion_uid
                                   AND g.archivo_principal = p.archivo
    WHERE $1::boolean
       OR EXISTS (SELECT 1 FROM unnest($2::date[]) AS d(day)
                  WHERE p.fecha_pago BETWEEN d.day AND d.day + $3::integer)
    ORDER BY p.nro_documento, p.fecha_pago, p.monto_cancelado, g.ts DESC, g.gestion_uid COLLATE "C" DESC
), cr AS (
    SELECT c.fecha, c.correo_agente, c.archivo, sum(c.monto) AS monto, count(*) AS pagos
    FROM credit c
    WHERE $1::boolean OR c.fecha = ANY ($2::date[])
    GROUP BY c.fecha, c.correo_agente, c.archivo
)
SELECT b.fecha, b.correo_agente, b.archivo, b.nombre_agente, b.dni_agente, b.total, b.cd, b.ci, b.pdp,
       b.peso, COALESCE(cr.monto, 0), COALESCE(cr.pagos, 0)
FROM base b
LEFT JOIN cr ON cr.fecha = b.fecha AND cr.correo_agente = b.correo_agente AND cr.archivo = b.archivo
