-- The campaigns as aux.campana holds them, with the last built day of each.
SELECT c.archivo, c.fecha_apertura, c.fin, c.attr_hash, b.last_built_day
FROM aux.campana c
LEFT JOIN etl.campaign_build b ON b.archivo = c.archivo
ORDER BY c.archivo
