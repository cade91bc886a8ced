-- aux.deuda_snapshot slice: the fecha_proceso days in $2, or everything when $1.
-- $1 all (boolean), $2 days (date[])
DELETE FROM aux.deuda_snapshot
WHERE $1::boolean OR fecha_proceso = ANY ($2::date[])
