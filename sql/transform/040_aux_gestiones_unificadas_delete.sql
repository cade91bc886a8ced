-- aux.gestiones_unificadas slice: the Lima days in $2, or everything when $1.
-- $1 all (boolean), $2 days (date[])
DELETE FROM aux.gestiones_unificadas
WHERE $1::boolean OR fecha = ANY ($2::date[])
