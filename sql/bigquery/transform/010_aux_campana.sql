-- aux_campana (sql/transform/011): one row per calendario archivo; fecha_apertura the MIN
-- over its rows, every other attribute from its latest row (greatest periodo_date, then
-- fecha_apertura); cartera from the archivo; fin = COALESCE(fecha_cierre, @as_of).
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.aux_campana` AS
WITH l AS (
  SELECT * EXCEPT (rn)
  FROM (
    SELECT c.*,
           ROW_NUMBER() OVER (PARTITION BY c.archivo ORDER BY c.periodo_date DESC, c.fecha_apertura DESC) AS rn
    FROM `{{.Project}}.{{.TransformDataset}}.src_calendario` c
  )
  WHERE rn = 1
), m AS (
  SELECT archivo, MIN(fecha_apertura) AS fecha_apertura
  FROM `{{.Project}}.{{.TransformDataset}}.src_calendario`
  GROUP BY archivo
)
SELECT
  l.archivo, m.fecha_apertura, l.fecha_cierre, l.fecha_trandeuda, l.fecha_cierre_planificada, l.periodo_date,
  l.tipo_cartera, l.periodo_asignacion, l.rango_vencimiento, l.estado_cartera, l.periodo_mes, l.tipo_ciclo_campana,
  l.categoria_duracion, l.duracion_campana_dias_habiles, l.anno_asignacion, l.es_cartera_abierta,
  CASE
    WHEN STRPOS(UPPER(l.archivo), 'TEMPRANA') > 0 THEN 'TEMPRANA'
    WHEN STRPOS(UPPER(l.archivo), 'CF_ANN') > 0 THEN 'CUOTA_FRACCIONAMIENTO'
    WHEN REGEXP_CONTAINS(UPPER(l.archivo), r'(^|[^A-Z0-9])AN([^A-Z0-9]|$)') THEN 'ALTAS_NUEVAS'
    ELSE 'OTRAS'
  END AS cartera,
  FORMAT_DATE('%Y-%m', m.fecha_apertura) AS periodo,
  COALESCE(l.fecha_cierre, @as_of) AS fin,
  TO_HEX(MD5(TO_JSON_STRING(STRUCT(
    m.fecha_apertura, l.fecha_cierre, l.fecha_trandeuda, l.fecha_cierre_planificada, l.periodo_date,
    l.tipo_cartera, l.periodo_asignacion, l.rango_vencimiento, l.estado_cartera, l.periodo_mes,
    l.tipo_ciclo_campana, l.categoria_duracion, l.duracion_campana_dias_habiles, l.anno_asignacion,
    l.es_cartera_abierta)))) AS attr_hash
FROM l
JOIN m ON m.archivo = l.archivo
