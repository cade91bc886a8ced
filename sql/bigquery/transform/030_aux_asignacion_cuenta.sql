-- aux_asignacion_cuenta (sql/transform/031): one row per (campaign, account). campaign_key:
-- the asignaciones archivo without a trailing '.txt' (any case), matched to the
-- calendario archivo case-insensitively. fecha_asignacion the MIN over the account's
-- rows; other attributes from the greatest creado_el (ties: greatest cod_luna, then
-- archivo). snap_asig: the campaign's fecha_trandeuda when the account has a snapshot
-- that day, else its first snapshot in [fecha_asignacion, fin]; deuda_asig its debt there.
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.aux_asignacion_cuenta`
CLUSTER BY archivo, cod_luna
AS
WITH camp AS (
  SELECT c.archivo, UPPER(c.archivo) AS k, c.fecha_trandeuda, c.fin, c.cartera
  FROM `{{.Project}}.{{.TransformDataset}}.aux_campana` c
), rows_ AS (
  SELECT c.archivo, a.cuenta, a.cod_luna, a.negocio, a.tramo_gestion, a.zona, a.min_vto,
         a.decil_contacto, a.decil_pago, a.rango_renta, c.cartera, c.fecha_trandeuda, c.fin,
         MIN(a.fecha_asignacion) OVER (PARTITION BY c.archivo, a.cuenta) AS fecha_asignacion,
         ROW_NUMBER() OVER (PARTITION BY c.archivo, a.cuenta
                            ORDER BY a.creado_el DESC, a.cod_luna DESC, a.archivo DESC) AS rn
  FROM `{{.Project}}.{{.TransformDataset}}.src_asignaciones` a
  JOIN camp c
    ON c.k = UPPER(CASE WHEN LOWER(SUBSTR(a.archivo, -4)) = '.txt' AND LENGTH(a.archivo) >= 4
                        THEN SUBSTR(a.archivo, 1, LENGTH(a.archivo) - 4) ELSE a.archivo END)
), acc AS (
  SELECT * EXCEPT (rn) FROM rows_ WHERE rn = 1
), snaps AS (
  -- each account's snapshots as one sorted array: the look-ups below are a join on
  -- the account and a scan of its (short) array, not a range join of every snapshot row
  SELECT d.cod_cuenta, ARRAY_AGG(STRUCT(d.fecha_proceso, d.monto) ORDER BY d.fecha_proceso) AS arr
  FROM `{{.Project}}.{{.TransformDataset}}.aux_deuda_snapshot` d
  GROUP BY d.cod_cuenta
), s AS (
  SELECT a.archivo, a.cuenta,
         COALESCE(
           (SELECT AS STRUCT x.fecha_proceso, x.monto FROM UNNEST(sn.arr) x
            WHERE x.fecha_proceso = a.fecha_trandeuda),
           (SELECT AS STRUCT x.fecha_proceso, x.monto FROM UNNEST(sn.arr) x
            WHERE x.fecha_proceso BETWEEN a.fecha_asignacion AND a.fin
            ORDER BY x.fecha_proceso LIMIT 1)) AS hit
  FROM acc a
  LEFT JOIN snaps sn ON sn.cod_cuenta = a.cuenta
)
SELECT a.archivo, a.cuenta, a.fecha_asignacion, a.cod_luna, a.negocio,
       CASE WHEN UPPER(TRIM(a.negocio)) = 'MOVIL' THEN 'MOVIL' ELSE 'FIJA' END AS servicio,
       a.tramo_gestion, a.zona, a.min_vto, a.decil_contacto, a.decil_pago, a.rango_renta, a.cartera,
       FORMAT_DATE('%Y-%m', a.fecha_asignacion) AS periodo,
       s.hit.fecha_proceso AS snap_asig,
       COALESCE(s.hit.monto, CAST(0 AS NUMERIC)) AS deuda_asig,
       s.hit.fecha_proceso IS NOT NULL AND COALESCE(s.hit.monto, CAST(0 AS NUMERIC)) >= CAST('1.00' AS NUMERIC) AS gestionable
FROM acc a
JOIN s ON s.archivo = a.archivo AND s.cuenta = a.cuenta
