-- asignaciones archivos matching no campaign (skipped by aux.asignacion_cuenta, counted
-- as filtered): every archivo when $1, else those in $2.
-- $1 all (boolean), $2 archivos as recorded in etl.pending_change (text[])
SELECT a.archivo, count(*)
FROM raw.asignaciones a
WHERE ($1::boolean OR a.archivo = ANY ($2::text[]))
  AND NOT EXISTS (SELECT 1 FROM aux.campana c
                  WHERE upper(c.archivo) = upper(regexp_replace(a.archivo, '\.txt$', '', 'i')))
GROUP BY a.archivo
ORDER BY a.archivo
