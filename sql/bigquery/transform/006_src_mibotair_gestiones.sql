-- src_mibotair_gestiones: raw.mibotair_gestiones (the columns the transform reads). Text
-- trimmed, blank = NULL, monto_compromiso rounded as trandeuda (no filter); rows
-- without uid or date rejected; one row per uid, the greatest date.
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.src_mibotair_gestiones`
PARTITION BY fecha
CLUSTER BY document
AS
SELECT * EXCEPT (rn)
FROM (
  SELECT m.*,
         ROW_NUMBER() OVER (PARTITION BY m.uid ORDER BY m.`date` DESC, TO_JSON_STRING(m) DESC) AS rn
  FROM (
    SELECT
      NULLIF(TRIM(uid), '') AS uid,
      NULLIF(TRIM(campaign_name), '') AS campaign_name,
      NULLIF(TRIM(document), '') AS document,
      NULLIF(TRIM(management), '') AS management,
      NULLIF(TRIM(sub_management), '') AS sub_management,
      NULLIF(TRIM(n1), '') AS n1,
      NULLIF(TRIM(n2), '') AS n2,
      NULLIF(TRIM(n3), '') AS n3,
      NULLIF(TRIM(nombre_agente), '') AS nombre_agente,
      NULLIF(TRIM(correo_agente), '') AS correo_agente,
      `date`,
      fecha_compromiso,
      CAST(FORMAT('%.2f', ROUND(CAST(monto_compromiso AS NUMERIC), 2)) AS NUMERIC) AS monto_compromiso,
      DATE(`date`, '-05:00') AS fecha
    FROM `{{.Project}}.{{.Dataset}}.{{.Tables.mibotair_gestiones}}`
  ) m
  WHERE m.uid IS NOT NULL AND m.`date` IS NOT NULL
)
WHERE rn = 1
