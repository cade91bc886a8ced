-- $1 today (date)
INSERT INTO etl.campaign_build (archivo, last_built_day, attr_hash, built_as_of, updated_at)
SELECT archivo, LEAST(fin, $1::date), attr_hash, $1::date, now()
FROM aux.campana
WHERE LEAST(fin, $1::date) >= fecha_apertura
