-- The campaigns as aux.campana holds them, with the last built day of each and the
-- last day of their latest periodo in aux.asignacion_cuenta (NULL without accounts).
SELECT c.archivo, c.fecha_apertura, c.fin, c.fecha_trandeuda, c.attr_hash, b.last_built_day,
       (SELECT (to_date(max(a.periodo), 'YYYY-MM') + interval '1 month' - interval '1 day')::date
        FROM aux.asignacion_cuenta a WHERE a.archivo = c.archivo) AS periodo_end
FROM aux.campana c
LEFT JOIN etl.campaign_build b ON b.archivo = c.archivo
ORDER BY c.archivo
