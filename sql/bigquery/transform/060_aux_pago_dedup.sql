-- aux_pago_dedup (sql/transform/061): one row per (nro_documento, fecha_pago,
-- monto_cancelado); times_seen = raw rows (one per load file). cuenta: cod_cuenta of the
-- document's latest snapshot on or before fecha_pago, else its earliest after; ties the
-- smallest cod_cuenta. Validity, first failure wins: monto_no_positivo, fecha_futura
-- (after @as_of), exceso_pagos_dia (more than @max_pagos_doc_dia rows share document
-- and day: all invalid), documento_desconocido (no cuenta).
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.aux_pago_dedup`
PARTITION BY fecha_pago
CLUSTER BY nro_documento
AS
WITH k AS (
  SELECT p.nro_documento, p.fecha_pago, p.monto_cancelado, COUNT(*) AS times_seen,
         MIN(p.creado_el) AS first_creado_el, MAX(p.creado_el) AS last_creado_el,
         ARRAY_AGG(p.archivo ORDER BY p.archivo) AS archivos_origen
  FROM `{{.Project}}.{{.TransformDataset}}.src_pagos` p
  GROUP BY p.nro_documento, p.fecha_pago, p.monto_cancelado
), docs AS (
  -- each paid document's snapshot rows as one array (a join on the document, then a
  -- scan of its array)
  SELECT t.nro_documento, ARRAY_AGG(STRUCT(t.fecha_proceso, t.cod_cuenta)) AS arr
  FROM `{{.Project}}.{{.TransformDataset}}.src_trandeuda` t
  WHERE t.nro_documento IN (SELECT nro_documento FROM k)
  GROUP BY t.nro_documento
), c AS (
  SELECT k.*,
         COUNT(*) OVER (PARTITION BY k.nro_documento, k.fecha_pago) AS n_dia,
         (SELECT x.cod_cuenta FROM UNNEST(d.arr) x
          ORDER BY IF(x.fecha_proceso <= k.fecha_pago, 0, 1),
                   ABS(DATE_DIFF(x.fecha_proceso, k.fecha_pago, DAY)), x.cod_cuenta
          LIMIT 1) AS cuenta
  FROM k
  LEFT JOIN docs d ON d.nro_documento = k.nro_documento
), v AS (
  SELECT c.*,
         CASE
           WHEN c.monto_cancelado <= 0 THEN 'monto_no_positivo'
           WHEN c.fecha_pago > @as_of THEN 'fecha_futura'
           WHEN c.n_dia > @max_pagos_doc_dia THEN 'exceso_pagos_dia'
           WHEN c.cuenta IS NULL THEN 'documento_desconocido'
         END AS motivo
  FROM c
)
SELECT nro_documento, fecha_pago, monto_cancelado, times_seen, first_creado_el, last_creado_el,
       archivos_origen, cuenta, motivo IS NULL AS es_valido, motivo AS motivo_invalidez
FROM v
