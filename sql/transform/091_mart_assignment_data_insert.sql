-- mart.assignment_data (domain.md §5.2) for the campaigns in $2 (all when $1): per
-- (periodo, archivo, cartera, servicio, fecha_vencimiento = min_vto) over the accounts
-- whose periodo (month of fecha_asignacion) is the row's. deuda_actual is the debt at
-- S(a, E), E = LEAST(last day of periodo, today), 0 for accounts absent from it.
-- $1 all (boolean), $2 archivos (text[]), $3 today (date)
INSERT INTO mart.assignment_data (
    periodo, archivo, cartera, servicio, fecha_vencimiento, clientes, cuentas, cuentas_gestionables,
    deuda_asig, deuda_actual, ticket_promedio)
WITH sd AS MATERIALIZED (
    -- computed once: the lookups below probe it per account or campaign
    SELECT fecha_proceso FROM aux.snapshot_days
), pe AS (
    SELECT p.archivo, p.periodo,
           LEAST((to_date(p.periodo, 'YYYY-MM') + interval '1 month' - interval '1 day')::date, $3::date) AS e
    FROM (SELECT DISTINCT archivo, periodo FROM aux.asignacion_cuenta
          WHERE $1::boolean OR archivo = ANY ($2::text[])) p
), ps AS MATERIALIZED (
    SELECT pe.archivo, pe.periodo,
           (SELECT sd.fecha_proceso FROM sd
            WHERE sd.fecha_proceso <= pe.e
              AND EXISTS (SELECT 1 FROM aux.asignacion_cuenta ac
                          CROSS JOIN LATERAL (SELECT 1 FROM aux.deuda_snapshot d
                                              WHERE d.cod_cuenta = ac.cuenta AND d.fecha_proceso = sd.fecha_proceso
                                              LIMIT 1) hit
                          WHERE ac.archivo = pe.archivo)
            ORDER BY sd.fecha_proceso DESC LIMIT 1) AS s
    FROM pe
)
SELECT ac.periodo, ac.archivo, ac.cartera, ac.servicio, ac.min_vto,
       count(DISTINCT ac.cod_luna), count(*), count(*) FILTER (WHERE ac.gestionable),
       sum(ac.deuda_asig), COALESCE(sum(d.monto), 0), round(sum(ac.deuda_asig) / count(*), 2)
FROM aux.asignacion_cuenta ac
JOIN ps ON ps.archivo = ac.archivo AND ps.periodo = ac.periodo
LEFT JOIN aux.deuda_snapshot d ON d.cod_cuenta = ac.cuenta AND d.fecha_proceso = ps.s
GROUP BY ac.periodo, ac.archivo, ac.cartera, ac.servicio, ac.min_vto
