-- src_homologacion_mibotair: raw.homologacion_mibotair. n_1..n_3 NULL or blank → '';
-- peso (a STRING) as an integer, non-integer text → 1; es_pdp = upper(pdp) IN ('SI',
-- 'SÍ', '1', 'TRUE'); one row per key.
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.src_homologacion_mibotair` AS
SELECT * EXCEPT (rn)
FROM (
  SELECT h.*,
         ROW_NUMBER() OVER (PARTITION BY h.n_1, h.n_2, h.n_3 ORDER BY TO_JSON_STRING(h) DESC) AS rn
  FROM (
    SELECT
      COALESCE(TRIM(n_1), '') AS n_1,
      COALESCE(TRIM(n_2), '') AS n_2,
      COALESCE(TRIM(n_3), '') AS n_3,
      NULLIF(TRIM(contactabilidad), '') AS contactabilidad,
      CASE
        WHEN NULLIF(TRIM(peso), '') IS NULL THEN NULL
        WHEN SAFE_CAST(TRIM(peso) AS INT64) BETWEEN -2147483648 AND 2147483647 THEN SAFE_CAST(TRIM(peso) AS INT64)
        ELSE 1
      END AS peso,
      COALESCE(UPPER(TRIM(pdp)) IN ('SI', 'SÍ', '1', 'TRUE'), FALSE) AS es_pdp
    FROM `{{.Project}}.{{.Dataset}}.{{.Tables.homologacion_mibotair}}`
  ) h
)
WHERE rn = 1
