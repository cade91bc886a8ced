-- aux.gestiones_unificadas (domain.md §4.4): both channels, classified and attributed.
-- Homologation rules join on all three keys, COALESCE(…, '') on the source side (the
-- raw rule keys are never NULL) and case-insensitively; if two rules differ only in
-- case, the first in byte order wins. clase: contactabilidad lower-cased with spaces
-- collapsed; 'contacto efectivo' → CD, 'contacto no efectivo' / 'no contacto' → CI,
-- anything else → SIN_CLASIFICAR. A PDP counts only on CD. Lima date and hour are
-- taken at the fixed UTC−5 offset.
-- Attribution is a function of (cod_luna, fecha): the campaigns with an account of the
-- client assigned on or before fecha whose window holds fecha; archivo_principal is
-- the one with the greatest apertura, ties the smallest archivo (byte order). intento
-- numbers the attributed gestiones of a (cod_luna, fecha) by (ts, canal, uid).
-- $3/$4 bound the instants so the BRIN indexes on date narrow the scan.
-- $1 all (boolean), $2 days (date[]), $3 from (timestamptz, first day 00:00 Lima),
-- $4 to (timestamptz, day after the last day 00:00 Lima)
INSERT INTO aux.gestiones_unificadas (
    canal, gestion_uid, cod_luna, ts, fecha, hora, cola, management, sub_management, compromiso,
    n1, n2, n3, nivel_1, nivel_2, nivel_3, contactabilidad, es_cd, es_ci, es_pdp, peso, homologada,
    monto_compromiso, fecha_compromiso, correo_agente, nombre_agente, dni_agente,
    atribuida, archivo_principal, intento)
WITH hv AS (
    SELECT DISTINCT ON (lower(bot_management), lower(bot_sub_management), lower(bot_compromiso))
           lower(bot_management) AS k1, lower(bot_sub_management) AS k2, lower(bot_compromiso) AS k3,
           n1_homologado, n2_homologado, n3_homologado, contactabilidad_homologada,
           es_pdp_homologado, peso_homologado
    FROM raw.homologacion_voicebot
    ORDER BY lower(bot_management), lower(bot_sub_management), lower(bot_compromiso),
             bot_management COLLATE "C", bot_sub_management COLLATE "C", bot_compromiso COLLATE "C"
), hm AS (
    SELECT DISTINCT ON (lower(n_1), lower(n_2), lower(n_3))
           lower(n_1) AS k1, lower(n_2) AS k2, lower(n_3) AS k3, n_1, n_2, n_3, contactabilidad, es_pdp, peso
    FROM raw.homologacion_mibotair
    ORDER BY lower(n_1), lower(n_2), lower(n_3), n_1 COLLATE "C", n_2 COLLATE "C", n_3 COLLATE "C"
), src AS (
    SELECT 'VOICEBOT'::text AS canal, v.uid, v.document AS cod_luna, v.date AS ts, v.campaign_name,
           v.management, v.sub_management, v.compromiso, NULL::text AS n1, NULL::text AS n2, NULL::text AS n3,
           h.n1_homologado AS nivel_1, h.n2_homologado AS nivel_2, h.n3_homologado AS nivel_3,
           h.contactabilidad_homologada AS contacto, COALESCE(h.es_pdp_homologado, false) AS rule_pdp,
           COALESCE(h.peso_homologado, 1) AS peso, h.k1 IS NOT NULL AS homologada,
           CASE WHEN trim(split_part(v.compromiso, '|', 2)) ~ '^[+-]?[0-9]{1,13}(\.[0-9]+)?$'
                THEN round(trim(split_part(v.compromiso, '|', 2))::numeric, 2) END AS monto_compromiso,
           (v.fecha_compromiso AT TIME ZONE INTERVAL '-05:00')::date AS fecha_compromiso,
           NULL::text AS correo_agente, 'VOICEBOT'::text AS nombre_agente, NULL::text AS dni_agente
    FROM raw.voicebot_gestiones v
    LEFT JOIN hv h ON h.k1 = lower(COALESCE(v.management, '')) AND h.k2 = lower(COALESCE(v.sub_management, ''))
                  AND h.k3 = lower(COALESCE(v.compromiso, ''))
    WHERE $1::boolean
       OR (v.date >= $3::timestamptz AND v.date < $4::timestamptz
           AND (v.date AT TIME ZONE INTERVAL '-05:00')::date = ANY ($2::date[]))
    UNION ALL
    SELECT 'CALL_CENTER', m.uid, m.document, m.date, m.campaign_name,
           m.management, m.sub_management, NULL, m.n1, m.n2, m.n3,
           h.n_1, h.n_2, h.n_3, h.contactabilidad, COALESCE(h.es_pdp, false),
           COALESCE(h.peso, 1), h.k1 IS NOT NULL,
           m.monto_compromiso, m.fecha_compromiso,
           COALESCE(lower(m.correo_agente), 'SIN_AGENTE'),
           COALESCE(e.nombre, m.nombre_agente, 'UNKNOWN'), COALESCE(e.document, 'SIN DNI')
    FROM raw.mibotair_gestiones m
    LEFT JOIN hm h ON h.k1 = lower(COALESCE(m.n1, '')) AND h.k2 = lower(COALESCE(m.n2, ''))
                  AND h.k3 = lower(COALESCE(m.n3, ''))
    LEFT JOIN raw.ejecutivos e ON e.correo_name = lower(m.correo_agente)
    WHERE $1::boolean
       OR (m.date >= $3::timestamptz AND m.date < $4::timestamptz
           AND (m.date AT TIME ZONE INTERVAL '-05:00')::date = ANY ($2::date[]))
), cls AS (
    SELECT s.*,
           (s.ts AT TIME ZONE INTERVAL '-05:00')::date AS fecha,
           extract(hour FROM s.ts AT TIME ZONE INTERVAL '-05:00')::smallint AS hora,
           CASE regexp_replace(lower(trim(s.contacto)), '\s+', ' ', 'g')
               WHEN 'contacto efectivo' THEN 'Contacto Efectivo'
               WHEN 'contacto no efectivo' THEN 'Contacto No Efectivo'
               WHEN 'no contacto' THEN 'Contacto No Efectivo'
               ELSE 'SIN_CLASIFICAR'
           END AS clase
    FROM src s
), pairs AS (
    SELECT DISTINCT ON (p.cod_luna, p.fecha) p.cod_luna, p.fecha, ac.archivo AS archivo_principal
    FROM (SELECT DISTINCT cod_luna, fecha FROM cls WHERE cod_luna IS NOT NULL) p
    JOIN aux.asignacion_cuenta ac ON ac.cod_luna = p.cod_luna AND ac.fecha_asignacion <= p.fecha
    JOIN aux.campana c ON c.archivo = ac.archivo AND p.fecha BETWEEN c.fecha_apertura AND c.fin
    ORDER BY p.cod_luna, p.fecha, c.fecha_apertura DESC, ac.archivo COLLATE "C"
)
SELECT g.canal, g.uid, g.cod_luna, g.ts, g.fecha, g.hora, COALESCE(g.campaign_name, 'SIN_COLA'),
       g.management, g.sub_management, g.compromiso, g.n1, g.n2, g.n3,
       CASE WHEN g.homologada THEN g.nivel_1 END, CASE WHEN g.homologada THEN g.nivel_2 END,
       CASE WHEN g.homologada THEN g.nivel_3 END,
       g.clase, g.clase = 'Contacto Efectivo', g.clase = 'Contacto No Efectivo',
       g.rule_pdp AND g.clase = 'Contacto Efectivo', g.peso, g.homologada,
       g.monto_compromiso, g.fecha_compromiso, g.correo_agente, g.nombre_agente, g.dni_agente,
       p.archivo_principal IS NOT NULL, p.archivo_principal,
       CASE WHEN p.archivo_principal IS NOT NULL THEN
           row_number() OVER (PARTITION BY g.cod_luna, g.fecha, p.archivo_principal IS NOT NULL
                              ORDER BY g.ts, g.canal COLLATE "C", g.uid COLLATE "C")
       END
FROM cls g
LEFT JOIN pairs p ON p.cod_luna = g.cod_luna AND p.fecha = g.fecha
