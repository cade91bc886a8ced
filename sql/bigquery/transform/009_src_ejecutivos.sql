-- src_ejecutivos: raw.ejecutivos. Only @ejecutivos_id_cliente, identical rows collapsed,
-- correo_name trimmed and lower-cased (NULL rejects the row), document NULL → 'SIN DNI';
-- one row per correo_name.
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.src_ejecutivos` AS
SELECT * EXCEPT (rn)
FROM (
  SELECT e.*,
         ROW_NUMBER() OVER (PARTITION BY e.correo_name ORDER BY TO_JSON_STRING(e) DESC) AS rn
  FROM (
    SELECT DISTINCT
      LOWER(NULLIF(TRIM(correo_name), '')) AS correo_name,
      NULLIF(TRIM(nombre), '') AS nombre,
      COALESCE(NULLIF(TRIM(document), ''), 'SIN DNI') AS document
    FROM `{{.Project}}.{{.Dataset}}.{{.Tables.ejecutivos}}`
    WHERE id_cliente = @ejecutivos_id_cliente
  ) e
  WHERE e.correo_name IS NOT NULL
)
WHERE rn = 1
