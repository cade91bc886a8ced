-- aux.gestiones_unificadas slice: the Lima days in $2, the client days in $3/$4 (every
-- gestión of those clients on those days: intento numbers them) and the gestiones in
-- $5/$6 (changed ones, wherever they were), or everything when $1.
-- The rows are found per form, each through its index (days, then the clients among
-- those days' rows, then the primary key per channel: uid = ANY), and deleted by row
-- id: one predicate OR-ing the three reads the whole table, and a join with the uid
-- list plans as a hash join over all of it.
-- $1 all (boolean), $2 days (date[]), $3/$4 client days (date[], cod_luna text[]),
-- $5/$6 gestiones (canal text[], uid text[])
DELETE FROM aux.gestiones_unificadas g
WHERE $1::boolean
   OR g.ctid = ANY (ARRAY(
          SELECT x.ctid FROM aux.gestiones_unificadas x WHERE x.fecha = ANY ($2::date[])
          UNION ALL
          SELECT x.ctid FROM aux.gestiones_unificadas x
          WHERE x.fecha = ANY (ARRAY(SELECT DISTINCT unnest($3::date[])))
            AND (x.fecha, x.cod_luna) IN (SELECT * FROM unnest($3::date[], $4::text[]))
          UNION ALL
          SELECT x.ctid FROM aux.gestiones_unificadas x
          WHERE x.canal = 'VOICEBOT'
            AND x.gestion_uid = ANY (ARRAY(SELECT u FROM unnest($5::text[], $6::text[]) AS c(canal, u)
                                           WHERE c.canal = 'VOICEBOT'))
          UNION ALL
          SELECT x.ctid FROM aux.gestiones_unificadas x
          WHERE x.canal = 'CALL_CENTER'
            AND x.gestion_uid = ANY (ARRAY(SELECT u FROM unnest($5::text[], $6::text[]) AS c(canal, u)
                                           WHERE c.canal = 'CALL_CENTER'))))
