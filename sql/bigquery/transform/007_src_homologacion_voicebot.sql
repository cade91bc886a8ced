-- src_homologacion_voicebot: raw.homologacion_voicebot. The three keys NULL or blank →
-- ''; es_pdp_homologado 1 → true, 0 or NULL → false (any other value rejects the row);
-- peso_homologado NULL → 1; one row per key.
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.src_homologacion_voicebot` AS
SELECT * EXCEPT (rn)
FROM (
  SELECT h.*,
         ROW_NUMBER() OVER (PARTITION BY h.bot_management, h.bot_sub_management, h.bot_compromiso
                            ORDER BY TO_JSON_STRING(h) DESC) AS rn
  FROM (
    SELECT
      COALESCE(TRIM(bot_management), '') AS bot_management,
      COALESCE(TRIM(bot_sub_management), '') AS bot_sub_management,
      COALESCE(TRIM(bot_compromiso), '') AS bot_compromiso,
      NULLIF(TRIM(n1_homologado), '') AS n1_homologado,
      NULLIF(TRIM(n2_homologado), '') AS n2_homologado,
      NULLIF(TRIM(n3_homologado), '') AS n3_homologado,
      NULLIF(TRIM(contactabilidad_homologada), '') AS contactabilidad_homologada,
      COALESCE(es_pdp_homologado = 1, FALSE) AS es_pdp_homologado,
      COALESCE(peso_homologado, 1) AS peso_homologado
    FROM `{{.Project}}.{{.Dataset}}.{{.Tables.homologacion_voicebot}}`
    WHERE es_pdp_homologado IS NULL OR es_pdp_homologado IN (0, 1)
  ) h
)
WHERE rn = 1
