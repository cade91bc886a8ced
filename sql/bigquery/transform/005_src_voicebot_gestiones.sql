-- src_voicebot_gestiones: raw.voicebot_gestiones (the columns the transform reads). Text
-- trimmed, blank = NULL; rows without uid or date rejected; one row per uid, the
-- greatest date.
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.src_voicebot_gestiones`
PARTITION BY fecha
CLUSTER BY document
AS
SELECT * EXCEPT (rn)
FROM (
  SELECT v.*,
         ROW_NUMBER() OVER (PARTITION BY v.uid ORDER BY v.`date` DESC, TO_JSON_STRING(v) DESC) AS rn
  FROM (
    SELECT
      NULLIF(TRIM(uid), '') AS uid,
      NULLIF(TRIM(campaign_name), '') AS campaign_name,
      NULLIF(TRIM(document), '') AS document,
      NULLIF(TRIM(management), '') AS management,
      NULLIF(TRIM(sub_management), '') AS sub_management,
      NULLIF(TRIM(compromiso), '') AS compromiso,
      `date`,
      fecha_compromiso,
      DATE(`date`, '-05:00') AS fecha
    FROM `{{.Project}}.{{.Dataset}}.{{.Tables.voicebot_gestiones}}`
  ) v
  WHERE v.uid IS NOT NULL AND v.`date` IS NOT NULL
)
WHERE rn = 1
