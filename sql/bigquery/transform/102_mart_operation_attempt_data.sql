-- mart_operation_attempt_data (sql/transform/103): per (day, canal, archivo_principal,
-- intento capped at 10 = "10 or more").
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.mart_operation_attempt_data`
PARTITION BY fecha_foto
CLUSTER BY archivo
AS
SELECT g.fecha AS fecha_foto, g.canal, g.archivo_principal AS archivo, LEAST(g.intento, 10) AS intento,
       COUNT(*) AS total_gestiones, COUNTIF(g.es_cd) AS contactos_efectivos, COUNTIF(g.es_pdp) AS total_pdp
FROM `{{.Project}}.{{.TransformDataset}}.aux_gestiones_unificadas` g
WHERE g.atribuida
GROUP BY g.fecha, g.canal, g.archivo_principal, LEAST(g.intento, 10)
