-- src_asignaciones: raw.asignaciones. cuenta and cod_luna as canonical integer text,
-- fecha_asignacion = Lima date of creado_el; rows without cuenta, cod_luna, archivo or
-- creado_el rejected; one row per upsert key (cod_luna, cuenta, archivo,
-- fecha_asignacion), the greatest creado_el.
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.src_asignaciones`
CLUSTER BY archivo, cuenta
AS
SELECT * EXCEPT (rn)
FROM (
  SELECT a.*,
         ROW_NUMBER() OVER (PARTITION BY a.cod_luna, a.cuenta, a.archivo, a.fecha_asignacion
                            ORDER BY a.creado_el DESC, TO_JSON_STRING(a) DESC) AS rn
  FROM (
    SELECT
      CAST(cuenta AS STRING) AS cuenta,
      CAST(cod_luna AS STRING) AS cod_luna,
      NULLIF(TRIM(archivo), '') AS archivo,
      NULLIF(TRIM(tramo_gestion), '') AS tramo_gestion,
      NULLIF(TRIM(negocio), '') AS negocio,
      NULLIF(TRIM(zona), '') AS zona,
      min_vto,
      decil_contacto,
      decil_pago,
      rango_renta,
      creado_el,
      DATE(creado_el, '-05:00') AS fecha_asignacion
    FROM `{{.Project}}.{{.Dataset}}.{{.Tables.asignaciones}}`
  ) a
  WHERE a.cuenta IS NOT NULL AND a.cod_luna IS NOT NULL AND a.archivo IS NOT NULL AND a.creado_el IS NOT NULL
)
WHERE rn = 1
