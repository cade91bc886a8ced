-- src_trandeuda: raw.trandeuda. The extraction filters (monto_exigible >= 0.005, i.e.
-- > 0.00 once rounded; motivo_rechazo NULL or blank), money as NUMERIC rounded to 2
-- decimals half away from zero, fecha_proceso = Lima date of creado_el; one row per
-- upsert key (cod_cuenta, nro_documento, archivo, fecha_proceso), the greatest creado_el.
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.src_trandeuda`
PARTITION BY fecha_proceso
CLUSTER BY nro_documento, cod_cuenta
AS
SELECT * EXCEPT (rn)
FROM (
  SELECT t.*,
         ROW_NUMBER() OVER (PARTITION BY t.cod_cuenta, t.nro_documento, t.archivo, t.fecha_proceso
                            ORDER BY t.creado_el DESC, TO_JSON_STRING(t) DESC) AS rn
  FROM (
    SELECT
      NULLIF(TRIM(cod_cuenta), '') AS cod_cuenta,
      NULLIF(TRIM(nro_documento), '') AS nro_documento,
      NULLIF(TRIM(archivo), '') AS archivo,
      CAST(FORMAT('%.2f', ROUND(CAST(monto_exigible AS NUMERIC), 2)) AS NUMERIC) AS monto_exigible,
      creado_el,
      DATE(creado_el, '-05:00') AS fecha_proceso
    FROM `{{.Project}}.{{.Dataset}}.{{.Tables.trandeuda}}`
    WHERE monto_exigible >= 0.005
      AND (motivo_rechazo IS NULL OR TRIM(motivo_rechazo) = '')
  ) t
  WHERE t.cod_cuenta IS NOT NULL AND t.nro_documento IS NOT NULL AND t.archivo IS NOT NULL
    AND t.creado_el IS NOT NULL
)
WHERE rn = 1
