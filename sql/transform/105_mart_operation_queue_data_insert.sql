-- mart.operation_queue_data (domain.md §5.3): per (day, canal, archivo_principal, cola).
-- $1 all (boolean), $2 days (date[])
INSERT INTO mart.operation_queue_data (
    fecha_foto, canal, archivo, cola, total_gestiones, contactos_efectivos, contactos_indirectos, total_pdp)
SELECT g.fecha, g.canal, g.archivo_principal, g.cola, count(*),
       count(*) FILTER (WHERE g.es_cd), count(*) FILTER (WHERE g.es_ci), count(*) FILTER (WHERE g.es_pdp)
FROM aux.gestiones_unificadas g
WHERE g.atribuida AND ($1::boolean OR g.fecha = ANY ($2::date[]))
GROUP BY g.fecha, g.canal, g.archivo_principal, g.cola
