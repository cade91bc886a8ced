-- aux.pago_campana slice: the fecha_pago days in $2, or everything when $1.
-- $1 all (boolean), $2 days (date[])
DELETE FROM aux.pago_campana
WHERE $1::boolean OR fecha_pago = ANY ($2::date[])
