-- aux_gestion_cuenta (sql/transform/051): each attributed gestión × every campaign of A(g)
-- × its client's accounts there assigned on or before the gestión's day.
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.aux_gestion_cuenta`
PARTITION BY fecha
CLUSTER BY archivo, cuenta
AS
SELECT g.canal, g.gestion_uid, ac.archivo, ac.cuenta, g.fecha, g.es_cd, g.es_ci, g.es_pdp
FROM `{{.Project}}.{{.TransformDataset}}.aux_gestiones_unificadas` g
JOIN `{{.Project}}.{{.TransformDataset}}.aux_asignacion_cuenta` ac
  ON ac.cod_luna = g.cod_luna AND ac.fecha_asignacion <= g.fecha
JOIN `{{.Project}}.{{.TransformDataset}}.aux_campana` c
  ON c.archivo = ac.archivo AND g.fecha BETWEEN c.fecha_apertura AND c.fin
WHERE g.atribuida
