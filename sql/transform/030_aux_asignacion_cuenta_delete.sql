-- aux.asignacion_cuenta slice: the campaigns in $2 (including campaigns gone from
-- calendario, which are only deleted), or everything when $1.
-- $1 all (boolean), $2 archivos (text[])
DELETE FROM aux.asignacion_cuenta
WHERE $1::boolean OR archivo = ANY ($2::text[])
