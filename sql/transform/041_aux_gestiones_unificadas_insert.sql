-- aux.gestiones_unificadas (domain.md §4.4): both channels, classified and attributed.
-- Homologation rules join on all three keys, COALESCE(…, '') on the source side (the
-- raw rule keys are never NULL) and case-insensitively; if two rules differ only in
-- case, the first in byte order wins. clase: contactabilidad lower-cased, '_' and '-'
-- read as spaces, spaces collapsed (CONTACTO_EFECTIVO is CD); 'contacto efectivo' → CD, 'contacto no efectivo' / 'no contacto' → CI,
-- anything else → SIN_CLASIFICAR. A PDP counts only on CD. Lima date and hour are
-- taken at the fixed UTC−5 offset.
-- Attribution is a function of (cod_luna, fecha): the campaigns with an account of the
-- client assigned on or before fecha whose window holds fecha; archivo_principal is
-- the one with the greatest apertura, ties the smallest archivo (byte order). intento
-- numbers the attributed gestiones of a (cod_luna, fecha) by (ts, canal, uid).
-- A day slice goes in in primary key order (the index is walked once, not at random);
-- a full rebuild, whose indexes are rebuilt after the insert, plans no sort: the keys
-- fold to constants.
-- A slice is whole days ($2), client days ($5/$6: every gestión of those clients on
-- those days) and single gestiones ($7/$8: changed ones without a client); $3/$4 bound
-- the instants of all three so the BRIN indexes on date narrow the scan.
-- $1 all (boolean), $2 days (date[]), $3 from (timestamptz, first day 00:00 Lima),
-- $4 to (timestamptz, day after the last day 00:00 Lima), $5/$6 client days (date[],
-- cod_luna text[]), $7/$8 gestiones (canal text[], uid text[])
INSERT INTO aux.gestiones_unificadas (
    canal, gestion_uid, cod_luna, ts, fecha, hora, cola, management, sub_management, compromiso,
    n1, n2, n3, nivel_1, nivel_2, nivel_3, contactabilidad, es_cd, es_ci, es_pdp, peso, homologada,
    monto_compromiso, fecha_compromiso, correo_agente, nombre_agente, dni_agente,
    atribuida, archivo_principal, intento)
WITH hv AS (
    -- rules classified once each: clase, es_cd, es_ci, es_pdp = rule PDP AND CD
    SELECT DISTINCT ON (lower(bot_management), lower(bot_sub_management), lower(bot_compromiso))
           lower(bot_management) AS k1, lower(bot_sub_management) AS k2, lower(bot_compromiso) AS k3,
           n1_homologado AS nivel_1, n2_homologado AS nivel_2, n3_homologado AS nivel_3,
           contactabilidad_homologada AS contacto, es_pdp_homologado AS rule_pdp, peso_homologado AS peso
    FROM raw.homologacion_voicebot
    ORDER BY lower(bot_management), lower(bot_sub_management), lower(bot_compromiso),
             bot_management COLLATE "C", bot_sub_management COLLATE "C", bot_compromiso COLLATE "C"
), hm AS (
    SELECT DISTINCT ON (lower(n_1), lower(n_2), lower(n_3))
           lower(n_1) AS k1, lower(n_2) AS k2, lower(n_3) AS k3, n_1 AS nivel_1, n_2 AS nivel_2, n_3 AS nivel_3,
           contactabilidad AS contacto, es_pdp AS rule_pdp, peso
    FROM raw.homologacion_mibotair
    ORDER BY lower(n_1), lower(n_2), lower(n_3), n_1 COLLATE "C", n_2 COLLATE "C", n_3 COLLATE "C"
), rules AS (
    SELECT r.*,
           CASE trim(regexp_replace(lower(r.contacto), '[\s_-]+', ' ', 'g'))
               WHEN 'contacto efectivo' THEN 'Contacto Efectivo'
               WHEN 'contacto no efectivo' THEN 'Contacto No Efectivo'
               WHEN 'no contacto' THEN 'Contacto No Efectivo'
               ELSE 'SIN_CLASIFICAR'
           END AS clase
    FROM (SELECT 'VOICEBOT' AS canal, hv.* FROM hv UNION ALL SELECT 'CALL_CENTER', hm.* FROM hm) r
), src AS (
    SELECT 'VOICEBOT'::text AS canal, v.uid, v.document AS cod_luna, v.date AS ts, v.campaign_name,
           v.management, v.sub_management, v.compromiso, NULL::text AS n1, NULL::text AS n2, NULL::text AS n3,
           h.nivel_1, h.nivel_2, h.nivel_3, COALESCE(h.clase, 'SIN_CLASIFICAR') AS clase,
           COALESCE(h.rule_pdp, false) AS rule_pdp, COALESCE(h.peso, 1) AS peso, h.k1 IS NOT NULL AS homologada,
           CASE WHEN trim(split_part(v.compromiso, '|', 2)) ~ '^[+-]?[0-9]{1,13}(\.[0-9]+)?$'
                THEN round(trim(split_part(v.compromiso, '|', 2))::numeric, 2) END AS monto_compromiso,
           (v.fecha_compromiso AT TIME ZONE INTERVAL '-05:00')::date AS fecha_compromiso,
           NULL::text AS correo_agente, 'VOICEBOT'::text AS nombre_agente, NULL::text AS dni_agente
    FROM raw.voicebot_gestiones v
    LEFT JOIN rules h ON h.canal = 'VOICEBOT' AND h.k1 = lower(COALESCE(v.management, ''))
                     AND h.k2 = lower(COALESCE(v.sub_management, '')) AND h.k3 = lower(COALESCE(v.compromiso, ''))
    WHERE $1::boolean
       OR (v.date >= $3::timestamptz AND v.date < $4::timestamptz
           AND ((v.date AT TIME ZONE INTERVAL '-05:00')::date = ANY ($2::date[])
                OR ((v.date AT TIME ZONE INTERVAL '-05:00')::date, v.document)
                   IN (SELECT * FROM unnest($5::date[], $6::text[]))
                OR ('VOICEBOT', v.uid) IN (SELECT * FROM unnest($7::text[], $8::text[]))))
    UNION ALL
    SELECT 'CALL_CENTER', m.uid, m.document, m.date, m.campaign_name,
           m.management, m.sub_management, NULL, m.n1, m.n2, m.n3,
           h.nivel_1, h.nivel_2, h.nivel_3, COALESCE(h.clase, 'SIN_CLASIFICAR'),
           COALESCE(h.rule_pdp, false), COALESCE(h.peso, 1), h.k1 IS NOT NULL,
           m.monto_compromiso, m.fecha_compromiso,
           COALESCE(lower(m.correo_agente), 'SIN_AGENTE'),
           COALESCE(e.nombre, m.nombre_agente, 'UNKNOWN'), COALESCE(e.document, 'SIN DNI')
    FROM raw.mibotair_gestiones m
    LEFT JOIN rules h ON h.canal = 'CALL_CENTER' AND h.k1 = lower(COALESCE(m.n1, ''))
                     AND h.k2 = lower(COALESCE(m.n2, '')) AND h.k3 = lower(COALESCE(m.n3, ''))
    LEFT JOIN raw.ejecutivos e ON e.correo_name = lower(m.correo_agente)
    WHERE $1::boolean
       OR (m.date >= $3::timestamptz AND m.date < $4::timestamptz
           AND ((m.date AT TIME ZONE INTERVAL '-05:00')::date = ANY ($2::date[])
                OR ((m.date AT TIME ZONE INTERVAL '-05:00')::date, m.document)
                   IN (SELECT * FROM unnest($5::date[], $6::text[]))
                OR ('CALL_CENTER', m.uid) IN (SELECT * FROM unnest($7::text[], $8::text[]))))
), g AS (
    SELECT s.*, (s.ts AT TIME ZONE INTERVAL '-05:00')::date AS fecha
    FROM src s
), camp AS (
    -- campaigns ranked for archivo_principal: greatest apertura, then smallest archivo
    SELECT c.archivo, c.fecha_apertura, c.fin,
           row_number() OVER (ORDER BY c.fecha_apertura DESC, c.archivo COLLATE "C") AS rango
    FROM aux.campana c
), p AS (
    -- attribution, a function of (cod_luna, fecha): the best-ranked campaign of A(g),
    -- by a hash aggregate over the distinct (cod_luna, fecha) of the slice
    SELECT q.cod_luna, q.fecha, min(c.rango) AS rango
    FROM (
        -- read from the raw tables (two narrow scans) so that g, read once, is not
        -- materialised
        SELECT v.document AS cod_luna, (v.date AT TIME ZONE INTERVAL '-05:00')::date AS fecha
        FROM raw.voicebot_gestiones v
        WHERE v.document IS NOT NULL
          AND ($1::boolean
               OR (v.date >= $3::timestamptz AND v.date < $4::timestamptz
                   AND ((v.date AT TIME ZONE INTERVAL '-05:00')::date = ANY ($2::date[])
                    OR ((v.date AT TIME ZONE INTERVAL '-05:00')::date, v.document)
                       IN (SELECT * FROM unnest($5::date[], $6::text[]))
                    OR ('VOICEBOT', v.uid) IN (SELECT * FROM unnest($7::text[], $8::text[])))))
        UNION
        SELECT m.document, (m.date AT TIME ZONE INTERVAL '-05:00')::date
        FROM raw.mibotair_gestiones m
        WHERE m.document IS NOT NULL
          AND ($1::boolean
               OR (m.date >= $3::timestamptz AND m.date < $4::timestamptz
                   AND ((m.date AT TIME ZONE INTERVAL '-05:00')::date = ANY ($2::date[])
                    OR ((m.date AT TIME ZONE INTERVAL '-05:00')::date, m.document)
                       IN (SELECT * FROM unnest($5::date[], $6::text[]))
                    OR ('CALL_CENTER', m.uid) IN (SELECT * FROM unnest($7::text[], $8::text[])))))
    ) q
    JOIN aux.asignacion_cuenta ac ON ac.cod_luna = q.cod_luna AND ac.fecha_asignacion <= q.fecha
    JOIN camp c ON c.archivo = ac.archivo AND q.fecha BETWEEN c.fecha_apertura AND c.fin
    GROUP BY q.cod_luna, q.fecha
)
SELECT g.canal, g.uid, g.cod_luna, g.ts, g.fecha,
       extract(hour FROM g.ts AT TIME ZONE INTERVAL '-05:00')::smallint,
       COALESCE(g.campaign_name, 'SIN_COLA'),
       g.management, g.sub_management, g.compromiso, g.n1, g.n2, g.n3, g.nivel_1, g.nivel_2, g.nivel_3,
       g.clase, g.clase = 'Contacto Efectivo', g.clase = 'Contacto No Efectivo',
       g.rule_pdp AND g.clase = 'Contacto Efectivo', g.peso, g.homologada,
       g.monto_compromiso, g.fecha_compromiso, g.correo_agente, g.nombre_agente, g.dni_agente,
       c.archivo IS NOT NULL, c.archivo,
       -- a (cod_luna, fecha) is attributed whole or not at all, so its partition is
       -- exactly the attributed gestiones; byte-order keys sort on abbreviated keys.
       -- fecha first: a full rebuild then writes the table in day order, so a day
       -- slice (delete, marts, dashboard) reads its own pages, not every page
       CASE WHEN c.archivo IS NOT NULL THEN
           row_number() OVER (PARTITION BY g.fecha, g.cod_luna COLLATE "C"
                              ORDER BY g.ts, g.canal COLLATE "C", g.uid COLLATE "C")
       END
FROM g
LEFT JOIN p ON p.cod_luna = g.cod_luna AND p.fecha = g.fecha
LEFT JOIN camp c ON c.rango = p.rango
ORDER BY CASE WHEN NOT $1::boolean THEN g.canal END, CASE WHEN NOT $1::boolean THEN g.uid END
