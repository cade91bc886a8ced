-- src_calendario: raw.calendario as the loader would hold it. Text trimmed, blank = NULL;
-- rows without archivo, fecha_apertura or periodo_date, or with fecha_cierre before
-- fecha_apertura, rejected; one row per upsert key (archivo, periodo_date).
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.src_calendario` AS
SELECT * EXCEPT (rn)
FROM (
  SELECT c.*,
         ROW_NUMBER() OVER (PARTITION BY c.archivo, c.periodo_date
                            ORDER BY TO_JSON_STRING(c) DESC) AS rn
  FROM (
    SELECT
      NULLIF(TRIM(archivo), '') AS archivo,
      NULLIF(TRIM(tipo_cartera), '') AS tipo_cartera,
      NULLIF(TRIM(periodo_asignacion), '') AS periodo_asignacion,
      NULLIF(TRIM(rango_vencimiento), '') AS rango_vencimiento,
      NULLIF(TRIM(estado_cartera), '') AS estado_cartera,
      NULLIF(TRIM(periodo_mes), '') AS periodo_mes,
      NULLIF(TRIM(tipo_ciclo_campana), '') AS tipo_ciclo_campana,
      NULLIF(TRIM(categoria_duracion), '') AS categoria_duracion,
      fecha_apertura,
      fecha_trandeuda,
      fecha_cierre,
      fecha_cierre_planificada,
      periodo_date,
      duracion_campana_dias_habiles,
      anno_asignacion,
      es_cartera_abierta
    FROM `{{.Project}}.{{.Dataset}}.{{.Tables.calendario}}`
  ) c
  WHERE c.archivo IS NOT NULL AND c.fecha_apertura IS NOT NULL AND c.periodo_date IS NOT NULL
    AND (c.fecha_cierre IS NULL OR c.fecha_cierre >= c.fecha_apertura)
)
WHERE rn = 1
