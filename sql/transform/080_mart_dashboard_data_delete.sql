-- mart.dashboard_data slice: per campaign, every row from its start day on, with no
-- upper bound (a campaign whose window shrank loses its later rows), or everything
-- when $1. Campaigns gone from calendario are listed with their old apertura.
-- $1 all (boolean), $2 archivos (text[]), $3 start day per archivo (date[])
DELETE FROM mart.dashboard_data d
WHERE $1::boolean
   OR EXISTS (SELECT 1 FROM unnest($2::text[], $3::date[]) AS r(archivo, desde)
              WHERE r.archivo = d.archivo AND d.fecha_foto >= r.desde)
