-- aux.gestion_cuenta slice: the gestiones days in $2, or everything when $1.
-- $1 all (boolean), $2 days (date[])
DELETE FROM aux.gestion_cuenta
WHERE $1::boolean OR fecha = ANY ($2::date[])
