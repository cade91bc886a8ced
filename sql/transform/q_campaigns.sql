-- The campaigns as aux.campana holds them, with the last built day of each and the
-- last day of their latest periodo in aux.asignacion_cuenta (NULL without accounts):
-- one pass over the accounts (a probe per campaign reads them at random).
SELECT c.archivo, c.fecha_apertura, c.fin, c.fecha_trandeuda, c.attr_hash, b.last_built_day,
       (to_date(p.periodo, 'YYYY-MM') + interval '1 month' - interval '1 day')::date AS periodo_end
FROM aux.campana c
LEFT JOIN etl.campaign_build b ON b.archivo = c.archivo
LEFT JOIN (SELECT archivo, max(periodo) AS periodo FROM aux.asignacion_cuenta GROUP BY archivo) p
       ON p.archivo = c.archivo
ORDER BY c.archivo
