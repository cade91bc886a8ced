-- mart_operation_data (sql/transform/101): attributed gestiones credited once to their
-- archivo_principal, per (Lima day, Lima hour, canal, archivo). clientes_nuevos counts
-- gestiones with intento = 1; cuentas_nuevas their client's accounts in
-- archivo_principal assigned on or before the day (their aux_gestion_cuenta rows there),
-- which aux_gestiones_unificadas.cuentas_principal holds.
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.mart_operation_data`
PARTITION BY fecha_foto
CLUSTER BY archivo
AS
WITH t AS (
  SELECT g.fecha, g.hora, g.canal, g.archivo_principal AS archivo, COUNT(*) AS total,
         COUNTIF(g.es_cd) AS cd, COUNTIF(g.es_ci) AS ci, COUNTIF(NOT g.es_cd AND NOT g.es_ci) AS sc,
         COUNTIF(g.es_pdp) AS pdp, SUM(g.peso) AS peso, COUNTIF(g.intento = 1) AS clientes,
         SUM(IF(g.intento = 1, g.cuentas_principal, 0)) AS cuentas
  FROM `{{.Project}}.{{.TransformDataset}}.aux_gestiones_unificadas` g
  WHERE g.atribuida
  GROUP BY g.fecha, g.hora, g.canal, g.archivo_principal
)
SELECT t.fecha AS fecha_foto, t.hora, t.canal, t.archivo, t.total AS total_gestiones, t.cd AS contactos_efectivos,
       t.ci AS contactos_indirectos, t.sc AS sin_contacto, t.pdp AS total_pdp, t.peso AS peso_total,
       t.clientes AS clientes_nuevos, t.cuentas AS cuentas_nuevas
FROM t
