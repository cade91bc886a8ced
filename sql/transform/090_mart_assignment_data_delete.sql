-- mart.assignment_data slice: every periodo of the campaigns in $2, or everything when $1.
-- $1 all (boolean), $2 archivos (text[])
DELETE FROM mart.assignment_data
WHERE $1::boolean OR archivo = ANY ($2::text[])
