-- mart.operation_data (domain.md §5.3): attributed gestiones credited once to their
-- archivo_principal, per (Lima day, Lima hour, canal, archivo). clientes_nuevos counts
-- gestiones with intento = 1 (one per client and day); cuentas_nuevas their
-- aux.gestion_cuenta rows in archivo_principal, which (§4.5) are the client's accounts
-- there assigned on or before the gestión's day: counted from aux.asignacion_cuenta,
-- a hash join on the client instead of grouping every aux.gestion_cuenta row.
-- $1 all (boolean), $2 days (date[])
INSERT INTO mart.operation_data (
    fecha_foto, hora, canal, archivo, total_gestiones, contactos_efectivos, contactos_indirectos,
    sin_contacto, total_pdp, peso_total, clientes_nuevos, cuentas_nuevas)
WITH t AS (
    SELECT g.fecha, g.hora, g.canal, g.archivo_principal AS archivo, count(*) AS total,
           count(*) FILTER (WHERE g.es_cd) AS cd, count(*) FILTER (WHERE g.es_ci) AS ci,
           count(*) FILTER (WHERE NOT g.es_cd AND NOT g.es_ci) AS sc, count(*) FILTER (WHERE g.es_pdp) AS pdp,
           sum(g.peso) AS peso, count(*) FILTER (WHERE g.intento = 1) AS clientes
    FROM aux.gestiones_unificadas g
    WHERE g.atribuida AND ($1::boolean OR g.fecha = ANY ($2::date[]))
    GROUP BY g.fecha, g.hora, g.canal, g.archivo_principal
), n AS (
    SELECT g.fecha, g.hora, g.canal, g.archivo_principal AS archivo, count(*) AS cuentas
    FROM aux.gestiones_unificadas g
    JOIN aux.asignacion_cuenta ac ON ac.cod_luna = g.cod_luna AND ac.archivo = g.archivo_principal
                                 AND ac.fecha_asignacion <= g.fecha
    WHERE g.intento = 1 AND ($1::boolean OR g.fecha = ANY ($2::date[]))
    GROUP BY g.fecha, g.hora, g.canal, g.archivo_principal
)
SELECT t.fecha, t.hora, t.canal, t.archivo, t.total, t.cd, t.ci, t.sc, t.pdp, t.peso, t.clientes,
       COALESCE(n.cuentas, 0)
FROM t
LEFT JOIN n ON n.fecha = t.fecha AND n.hora = t.hora AND n.canal = t.canal AND n.archivo = t.archivo
