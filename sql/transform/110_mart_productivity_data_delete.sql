-- mart.productivity_data slice: the days in $2, or everything when $1.
-- $1 all (boolean), $2 days (date[])
DELETE FROM mart.productivity_data
WHERE $1::boolean OR fecha_foto = ANY ($2::date[])
