-- mart.operation_data (domain.md §5.3): attributed gestiones credited once to their
-- archivo_principal, per (Lima day, Lima hour, canal, archivo). clientes_nuevos counts
-- gestiones with intento = 1 (one per client and day); cuentas_nuevas their
-- aux.gestion_cuenta rows in archivo_principal.
-- $1 all (boolean), $2 days (date[])
INSERT INTO mart.operation_data (
    fecha_foto, hora, canal, archivo, total_gestiones, contactos_efectivos, contactos_indirectos,
    sin_contacto, total_pdp, peso_total, clientes_nuevos, cuentas_nuevas)
SELECT g.fecha, g.hora, g.canal, g.archivo_principal, count(*),
       count(*) FILTER (WHERE g.es_cd), count(*) FILTER (WHERE g.es_ci),
       count(*) FILTER (WHERE NOT g.es_cd AND NOT g.es_ci), count(*) FILTER (WHERE g.es_pdp),
       sum(g.peso), count(*) FILTER (WHERE g.intento = 1), COALESCE(sum(n.cuentas), 0)
FROM aux.gestiones_unificadas g
LEFT JOIN (
    SELECT gc.canal, gc.gestion_uid, gc.archivo, count(*) AS cuentas
    FROM aux.gestion_cuenta gc
    WHERE $1::boolean OR gc.fecha = ANY ($2::date[])
    GROUP BY gc.canal, gc.gestion_uid, gc.archivo
) n ON g.intento = 1 AND n.canal = g.canal AND n.gestion_uid = g.gestion_uid AND n.archivo = g.archivo_principal
WHERE g.atribuida AND ($1::boolean OR g.fecha = ANY ($2::date[]))
GROUP BY g.fecha, g.hora, g.canal, g.archivo_principal
