-- aux.gestion_cuenta slice: the gestiones days in $2 and the gestiones in $3/$4, or
-- everything when $1. A gestión's rows depend on itself alone (its client, day and
-- attribution), so an unchanged gestión of a rebuilt client day keeps them. The rows
-- are found per form through its index (the primary key per channel: uid = ANY) and
-- deleted by row id, as in 040.
-- $1 all (boolean), $2 days (date[]), $3/$4 gestiones (canal text[], uid text[])
DELETE FROM aux.gestion_cuenta g
WHERE $1::boolean
   OR g.ctid = ANY (ARRAY(
          SELECT x.ctid FROM aux.gestion_cuenta x WHERE x.fecha = ANY ($2::date[])
          UNION ALL
          SELECT x.ctid FROM aux.gestion_cuenta x
          WHERE x.canal = 'VOICEBOT'
            AND x.gestion_uid = ANY (ARRAY(SELECT u FROM unnest($3::text[], $4::text[]) AS c(canal, u)
                                           WHERE c.canal = 'VOICEBOT'))
          UNION ALL
          SELECT x.ctid FROM aux.gestion_cuenta x
          WHERE x.canal = 'CALL_CENTER'
            AND x.gestion_uid = ANY (ARRAY(SELECT u FROM unnest($3::text[], $4::text[]) AS c(canal, u)
                                           WHERE c.canal = 'CALL_CENTER'))))
