-- mart_operation_queue_data (sql/transform/105): per (day, canal, archivo_principal, cola).
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.mart_operation_queue_data`
PARTITION BY fecha_foto
CLUSTER BY archivo
AS
SELECT g.fecha AS fecha_foto, g.canal, g.archivo_principal AS archivo, g.cola,
       COUNT(*) AS total_gestiones, COUNTIF(g.es_cd) AS contactos_efectivos,
       COUNTIF(g.es_ci) AS contactos_indirectos, COUNTIF(g.es_pdp) AS total_pdp
FROM `{{.Project}}.{{.TransformDataset}}.aux_gestiones_unificadas` g
WHERE g.atribuida
GROUP BY g.fecha, g.canal, g.archivo_principal, g.cola
