-- aux.gestion_cuenta (domain.md §4.5): each attributed gestión × every campaign of
-- A(g) × its client's accounts there assigned on or before the gestión's day.
-- $1 all (boolean), $2 days (date[], never NULL), $3/$4 gestiones (canal text[], uid text[])
INSERT INTO aux.gestion_cuenta (canal, gestion_uid, archivo, cuenta, fecha, es_cd, es_ci, es_pdp)
WITH g AS (
    -- the slice's gestiones, each form through its index (days; the primary key); a
    -- changed gestión now on a rebuilt day comes with its day
    SELECT x.* FROM aux.gestiones_unificadas x WHERE $1::boolean OR x.fecha = ANY ($2::date[])
    UNION ALL
    SELECT x.* FROM aux.gestiones_unificadas x
    WHERE NOT $1::boolean AND NOT x.fecha = ANY ($2::date[])
      AND ((x.canal = 'VOICEBOT'
            AND x.gestion_uid = ANY (ARRAY(SELECT u FROM unnest($3::text[], $4::text[]) AS c(canal, u)
                                           WHERE c.canal = 'VOICEBOT')))
        OR (x.canal = 'CALL_CENTER'
            AND x.gestion_uid = ANY (ARRAY(SELECT u FROM unnest($3::text[], $4::text[]) AS c(canal, u)
                                           WHERE c.canal = 'CALL_CENTER'))))
)
SELECT g.canal, g.gestion_uid, ac.archivo, ac.cuenta, g.fecha, g.es_cd, g.es_ci, g.es_pdp
FROM g
JOIN aux.asignacion_cuenta ac ON ac.cod_luna = g.cod_luna AND ac.fecha_asignacion <= g.fecha
JOIN aux.campana c ON c.archivo = ac.archivo AND g.fecha BETWEEN c.fecha_apertura AND c.fin
WHERE g.atribuida
-- a day slice goes in in key order, so the primary key index is walked once instead
-- of at random (it is larger than shared_buffers); a full rebuild (indexes dropped and
-- rebuilt after) plans no sort: the keys fold to constants
ORDER BY CASE WHEN NOT $1::boolean THEN g.canal END, CASE WHEN NOT $1::boolean THEN g.gestion_uid END,
         CASE WHEN NOT $1::boolean THEN ac.archivo END, CASE WHEN NOT $1::boolean THEN ac.cuenta END
