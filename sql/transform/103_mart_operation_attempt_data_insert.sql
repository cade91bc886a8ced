-- mart.operation_attempt_data (domain.md §5.3): per (day, canal, archivo_principal,
-- intento capped at 10 = "10 or more").
-- $1 all (boolean), $2 days (date[])
INSERT INTO mart.operation_attempt_data (
    fecha_foto, canal, archivo, intento, total_gestiones, contactos_efectivos, total_pdp)
SELECT g.fecha, g.canal, g.archivo_principal, LEAST(g.intento, 10), count(*),
       count(*) FILTER (WHERE g.es_cd), count(*) FILTER (WHERE g.es_pdp)
FROM aux.gestiones_unificadas g
WHERE g.atribuida AND ($1::boolean OR g.fecha = ANY ($2::date[]))
GROUP BY g.fecha, g.canal, g.archivo_principal, LEAST(g.intento, 10)
