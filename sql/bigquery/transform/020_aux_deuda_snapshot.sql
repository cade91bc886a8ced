-- aux_deuda_snapshot (sql/transform/021): per account and fecha_proceso, the sum over its
-- distinct documents that day; a document in several load files counts once (greatest
-- creado_el, then greatest archivo).
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.aux_deuda_snapshot`
PARTITION BY fecha_proceso
CLUSTER BY cod_cuenta
AS
SELECT d.cod_cuenta, d.fecha_proceso, SUM(d.monto_exigible) AS monto, COUNT(*) AS n_documentos
FROM (
  SELECT t.cod_cuenta, t.fecha_proceso, t.monto_exigible,
         ROW_NUMBER() OVER (PARTITION BY t.fecha_proceso, t.cod_cuenta, t.nro_documento
                            ORDER BY t.creado_el DESC, t.archivo DESC) AS rn
  FROM `{{.Project}}.{{.TransformDataset}}.src_trandeuda` t
) d
WHERE d.rn = 1
GROUP BY d.cod_cuenta, d.fecha_proceso
