-- aux_gestiones_unificadas (sql/transform/041): both channels, classified and attributed.
-- Homologation rules join on all three keys case-insensitively, COALESCE(…, '') on the
-- source side; of two rules differing only in case the first in byte order wins. clase:
-- contactabilidad lower-cased, '_' / '-' / whitespace runs read as one space: 'contacto
-- efectivo' → CD, 'contacto no efectivo' / 'no contacto' → CI, else SIN_CLASIFICAR; a PDP
-- counts only on CD. Lima date and hour at the fixed UTC−5 offset.
-- Attribution, a function of (cod_luna, fecha): the campaigns with an account of the
-- client assigned on or before fecha whose window holds fecha; archivo_principal the one
-- with the greatest apertura, ties the smallest archivo; intento numbers the attributed
-- gestiones of a (cod_luna, fecha) by (ts, canal, uid). cuentas_principal (an extra
-- column) counts the client's accounts in archivo_principal assigned by the day.
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.aux_gestiones_unificadas`
PARTITION BY fecha
CLUSTER BY archivo_principal, cod_luna
AS
WITH hv AS (
  SELECT * EXCEPT (rn)
  FROM (
    SELECT LOWER(bot_management) AS k1, LOWER(bot_sub_management) AS k2, LOWER(bot_compromiso) AS k3,
           n1_homologado AS nivel_1, n2_homologado AS nivel_2, n3_homologado AS nivel_3,
           contactabilidad_homologada AS contacto, es_pdp_homologado AS rule_pdp, peso_homologado AS peso,
           ROW_NUMBER() OVER (PARTITION BY LOWER(bot_management), LOWER(bot_sub_management), LOWER(bot_compromiso)
                              ORDER BY bot_management, bot_sub_management, bot_compromiso) AS rn
    FROM `{{.Project}}.{{.TransformDataset}}.src_homologacion_voicebot`
  )
  WHERE rn = 1
), hm AS (
  SELECT * EXCEPT (rn)
  FROM (
    SELECT LOWER(n_1) AS k1, LOWER(n_2) AS k2, LOWER(n_3) AS k3, n_1 AS nivel_1, n_2 AS nivel_2, n_3 AS nivel_3,
           contactabilidad AS contacto, es_pdp AS rule_pdp, peso,
           ROW_NUMBER() OVER (PARTITION BY LOWER(n_1), LOWER(n_2), LOWER(n_3) ORDER BY n_1, n_2, n_3) AS rn
    FROM `{{.Project}}.{{.TransformDataset}}.src_homologacion_mibotair`
  )
  WHERE rn = 1
), rules AS (
  SELECT r.*,
         CASE TRIM(REGEXP_REPLACE(LOWER(r.contacto), r'[\s_-]+', ' '))
           WHEN 'contacto efectivo' THEN 'Contacto Efectivo'
           WHEN 'contacto no efectivo' THEN 'Contacto No Efectivo'
           WHEN 'no contacto' THEN 'Contacto No Efectivo'
           ELSE 'SIN_CLASIFICAR'
         END AS clase
  FROM (SELECT 'VOICEBOT' AS canal, hv.* FROM hv UNION ALL SELECT 'CALL_CENTER' AS canal, hm.* FROM hm) r
), g AS (
  SELECT 'VOICEBOT' AS canal, v.uid, v.document AS cod_luna, v.`date` AS ts, v.fecha, v.campaign_name,
         v.management, v.sub_management, v.compromiso,
         CAST(NULL AS STRING) AS n1, CAST(NULL AS STRING) AS n2, CAST(NULL AS STRING) AS n3,
         h.nivel_1, h.nivel_2, h.nivel_3, COALESCE(h.clase, 'SIN_CLASIFICAR') AS clase,
         COALESCE(h.rule_pdp, FALSE) AS rule_pdp, COALESCE(h.peso, 1) AS peso, h.k1 IS NOT NULL AS homologada,
         CASE WHEN REGEXP_CONTAINS(TRIM(COALESCE(SPLIT(v.compromiso, '|')[SAFE_OFFSET(1)], '')), r'^[+-]?[0-9]{1,13}(\.[0-9]+)?$')
              THEN CAST(FORMAT('%.2f', ROUND(CAST(TRIM(SPLIT(v.compromiso, '|')[SAFE_OFFSET(1)]) AS NUMERIC), 2)) AS NUMERIC) END AS monto_compromiso,
         DATE(v.fecha_compromiso, '-05:00') AS fecha_compromiso,
         CAST(NULL AS STRING) AS correo_agente, 'VOICEBOT' AS nombre_agente, CAST(NULL AS STRING) AS dni_agente
  FROM `{{.Project}}.{{.TransformDataset}}.src_voicebot_gestiones` v
  LEFT JOIN rules h ON h.canal = 'VOICEBOT' AND h.k1 = LOWER(COALESCE(v.management, ''))
                   AND h.k2 = LOWER(COALESCE(v.sub_management, '')) AND h.k3 = LOWER(COALESCE(v.compromiso, ''))
  UNION ALL
  SELECT 'CALL_CENTER', m.uid, m.document, m.`date`, m.fecha, m.campaign_name,
         m.management, m.sub_management, CAST(NULL AS STRING), m.n1, m.n2, m.n3,
         h.nivel_1, h.nivel_2, h.nivel_3, COALESCE(h.clase, 'SIN_CLASIFICAR'),
         COALESCE(h.rule_pdp, FALSE), COALESCE(h.peso, 1), h.k1 IS NOT NULL,
         m.monto_compromiso, m.fecha_compromiso,
         COALESCE(LOWER(m.correo_agente), 'SIN_AGENTE'),
         COALESCE(e.nombre, m.nombre_agente, 'UNKNOWN'), COALESCE(e.document, 'SIN DNI')
  FROM `{{.Project}}.{{.TransformDataset}}.src_mibotair_gestiones` m
  LEFT JOIN rules h ON h.canal = 'CALL_CENTER' AND h.k1 = LOWER(COALESCE(m.n1, ''))
                   AND h.k2 = LOWER(COALESCE(m.n2, '')) AND h.k3 = LOWER(COALESCE(m.n3, ''))
  LEFT JOIN `{{.Project}}.{{.TransformDataset}}.src_ejecutivos` e ON e.correo_name = LOWER(m.correo_agente)
), cli AS (
  -- each client's campaign accounts as one array: attribution is a join on the client
  -- and a scan of its (short) array
  SELECT ac.cod_luna,
         ARRAY_AGG(STRUCT(ac.archivo, ac.cuenta, ac.fecha_asignacion AS fa, c.fecha_apertura, c.fin)) AS arr
  FROM `{{.Project}}.{{.TransformDataset}}.aux_asignacion_cuenta` ac
  JOIN `{{.Project}}.{{.TransformDataset}}.aux_campana` c ON c.archivo = ac.archivo
  GROUP BY ac.cod_luna
), a AS (
  SELECT g.*, k.arr,
         (SELECT x.archivo FROM UNNEST(k.arr) x
          WHERE x.fa <= g.fecha AND g.fecha BETWEEN x.fecha_apertura AND x.fin
          ORDER BY x.fecha_apertura DESC, x.archivo
          LIMIT 1) AS archivo_principal
  FROM g
  LEFT JOIN cli k ON k.cod_luna = g.cod_luna
)
SELECT a.canal, a.uid AS gestion_uid, a.cod_luna, a.ts, a.fecha,
       EXTRACT(HOUR FROM a.ts AT TIME ZONE '-05:00') AS hora,
       COALESCE(a.campaign_name, 'SIN_COLA') AS cola,
       a.management, a.sub_management, a.compromiso, a.n1, a.n2, a.n3, a.nivel_1, a.nivel_2, a.nivel_3,
       a.clase AS contactabilidad, a.clase = 'Contacto Efectivo' AS es_cd, a.clase = 'Contacto No Efectivo' AS es_ci,
       a.rule_pdp AND a.clase = 'Contacto Efectivo' AS es_pdp, a.peso, a.homologada,
       a.monto_compromiso, a.fecha_compromiso, a.correo_agente, a.nombre_agente, a.dni_agente,
       a.archivo_principal IS NOT NULL AS atribuida, a.archivo_principal,
       IF(a.archivo_principal IS NOT NULL,
          ROW_NUMBER() OVER (PARTITION BY a.fecha, a.cod_luna ORDER BY a.ts, a.canal, a.uid),
          NULL) AS intento,
       -- BigQuery only (not in aux.gestiones_unificadas): the client's accounts in
       -- archivo_principal assigned by the day, for mart_operation_data.cuentas_nuevas
       (SELECT COUNT(*) FROM UNNEST(a.arr) x
        WHERE x.archivo = a.archivo_principal AND x.fa <= a.fecha) AS cuentas_principal
FROM a
