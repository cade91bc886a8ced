-- mart.assignment_clientes slice: the periodos in $2, or everything when $1.
-- $1 all (boolean), $2 periodos (text[])
DELETE FROM mart.assignment_clientes
WHERE $1::boolean OR periodo = ANY ($2::text[])
