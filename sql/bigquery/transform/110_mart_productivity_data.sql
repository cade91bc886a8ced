-- mart_productivity_data (sql/transform/111): attributed CALL_CENTER gestiones per (day,
-- agent, archivo_principal); nombre/dni from the row's latest gestión (ts, then uid).
-- Recovery credit, searched across campaigns: for each payment p in aux_pago_campana the
-- candidates are CALL_CENTER PDP gestiones g with archivo_principal = a campaign a of p,
-- (g, a, p's account) in aux_gestion_cuenta and g.fecha ≤ fecha_pago ≤ g.fecha +
-- @pdp_recovery_days; the latest candidate (ts, then uid) gets the amount, once.
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.mart_productivity_data`
PARTITION BY fecha_foto
CLUSTER BY archivo, correo_agente
AS
WITH base AS (
  SELECT g.fecha, g.correo_agente, g.archivo_principal AS archivo,
         ARRAY_AGG(STRUCT(g.nombre_agente, g.dni_agente) ORDER BY g.ts DESC, g.gestion_uid DESC LIMIT 1)[OFFSET(0)] AS agente,
         COUNT(*) AS total, COUNTIF(g.es_cd) AS cd, COUNTIF(g.es_ci) AS ci, COUNTIF(g.es_pdp) AS pdp, SUM(g.peso) AS peso
  FROM `{{.Project}}.{{.TransformDataset}}.aux_gestiones_unificadas` g
  WHERE g.canal = 'CALL_CENTER' AND g.atribuida
  GROUP BY g.fecha, g.correo_agente, g.archivo_principal
), pdp AS (
  SELECT gc.gestion_uid, gc.archivo, gc.cuenta, gc.fecha
  FROM `{{.Project}}.{{.TransformDataset}}.aux_gestion_cuenta` gc
  WHERE gc.canal = 'CALL_CENTER' AND gc.es_pdp
), credit AS (
  SELECT monto, fecha, correo_agente, archivo
  FROM (
    SELECT p.monto_cancelado AS monto, g.fecha, g.correo_agente, g.archivo_principal AS archivo,
           ROW_NUMBER() OVER (PARTITION BY p.nro_documento, p.fecha_pago, p.monto_cancelado
                              ORDER BY g.ts DESC, g.gestion_uid DESC) AS rn
    FROM `{{.Project}}.{{.TransformDataset}}.aux_pago_campana` p
    JOIN pdp gc
      ON gc.archivo = p.archivo AND gc.cuenta = p.cuenta
     AND gc.fecha BETWEEN DATE_SUB(p.fecha_pago, INTERVAL @pdp_recovery_days DAY) AND p.fecha_pago
    JOIN `{{.Project}}.{{.TransformDataset}}.aux_gestiones_unificadas` g
      ON g.canal = 'CALL_CENTER' AND g.gestion_uid = gc.gestion_uid AND g.archivo_principal = p.archivo
  )
  WHERE rn = 1
), cr AS (
  SELECT c.fecha, c.correo_agente, c.archivo, SUM(c.monto) AS monto, COUNT(*) AS pagos
  FROM credit c
  GROUP BY c.fecha, c.correo_agente, c.archivo
)
SELECT b.fecha AS fecha_foto, b.correo_agente, b.archivo, b.agente.nombre_agente, b.agente.dni_agente,
       b.total AS total_gestiones, b.cd AS contactos_efectivos, b.ci AS contactos_indirectos, b.pdp AS total_pdp,
       b.peso AS peso_total, COALESCE(cr.monto, CAST(0 AS NUMERIC)) AS monto_recuperado,
       COALESCE(cr.pagos, 0) AS pagos_atribuidos
FROM base b
LEFT JOIN cr ON cr.fecha = b.fecha AND cr.correo_agente = b.correo_agente AND cr.archivo = b.archivo
