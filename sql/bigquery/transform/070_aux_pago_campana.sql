-- aux_pago_campana (sql/transform/071): each valid payment × every campaign that holds its
-- account and whose window holds fecha_pago.
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.aux_pago_campana`
PARTITION BY fecha_pago
CLUSTER BY archivo, cuenta
AS
SELECT p.nro_documento, p.fecha_pago, p.monto_cancelado, ac.archivo, ac.cuenta, ac.cod_luna
FROM `{{.Project}}.{{.TransformDataset}}.aux_pago_dedup` p
JOIN `{{.Project}}.{{.TransformDataset}}.aux_asignacion_cuenta` ac ON ac.cuenta = p.cuenta
JOIN `{{.Project}}.{{.TransformDataset}}.aux_campana` c
  ON c.archivo = ac.archivo AND p.fecha_pago BETWEEN c.fecha_apertura AND c.fin
WHERE p.es_valido
