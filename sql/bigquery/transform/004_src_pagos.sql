-- src_pagos: raw.pagos. The extraction filters (monto_cancelado >= 0.005; motivo_rechazo
-- NULL or blank), money rounded as trandeuda, rows paid after the Lima date of their
-- creado_el rejected (future_date); one row per upsert key (nro_documento, fecha_pago,
-- monto_cancelado, archivo), the greatest creado_el.
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.src_pagos`
PARTITION BY fecha_pago
CLUSTER BY nro_documento
AS
SELECT * EXCEPT (rn)
FROM (
  SELECT p.*,
         ROW_NUMBER() OVER (PARTITION BY p.nro_documento, p.fecha_pago, p.monto_cancelado, p.archivo
                            ORDER BY p.creado_el DESC, TO_JSON_STRING(p) DESC) AS rn
  FROM (
    SELECT
      NULLIF(TRIM(nro_documento), '') AS nro_documento,
      NULLIF(TRIM(archivo), '') AS archivo,
      CAST(FORMAT('%.2f', ROUND(CAST(monto_cancelado AS NUMERIC), 2)) AS NUMERIC) AS monto_cancelado,
      fecha_pago,
      creado_el
    FROM `{{.Project}}.{{.Dataset}}.{{.Tables.pagos}}`
    WHERE monto_cancelado >= 0.005
      AND (motivo_rechazo IS NULL OR TRIM(motivo_rechazo) = '')
  ) p
  WHERE p.nro_documento IS NOT NULL AND p.archivo IS NOT NULL AND p.fecha_pago IS NOT NULL
    AND p.creado_el IS NOT NULL AND p.fecha_pago <= DATE(p.creado_el, '-05:00')
)
WHERE rn = 1
