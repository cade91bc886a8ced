-- aux.asignacion_cuenta (domain.md §4.3): one row per (campaign, account).
-- campaign_key: the asignaciones archivo without a trailing '.txt' (any case), matched
-- to the calendario archivo case-insensitively. fecha_asignacion is the MIN over the
-- account's rows; the other attributes come from the row with the greatest creado_el
-- (ties: greatest cod_luna, then archivo, byte order).
-- snap_asig: the campaign's fecha_trandeuda when the account has a snapshot that day,
-- else its first snapshot in [fecha_asignacion, fin]; deuda_asig = debt at snap_asig.
-- $1 all (boolean), $2 archivos (text[])
INSERT INTO aux.asignacion_cuenta (
    archivo, cuenta, fecha_asignacion, cod_luna, negocio, servicio, tramo_gestion, zona, min_vto,
    decil_contacto, decil_pago, rango_renta, cartera, periodo, snap_asig, deuda_asig, gestionable)
WITH sd AS MATERIALIZED (
    -- computed once: the lookups below probe it per account or campaign
    SELECT fecha_proceso FROM aux.snapshot_days
), camp AS (
    SELECT c.archivo, upper(c.archivo) AS k, c.fecha_trandeuda, c.fin, c.cartera
    FROM aux.campana c
    WHERE $1::boolean OR c.archivo = ANY ($2::text[])
), acc AS (
    SELECT DISTINCT ON (c.archivo, a.cuenta)
           c.archivo, a.cuenta, a.cod_luna, a.negocio, a.tramo_gestion, a.zona, a.min_vto,
           a.decil_contacto, a.decil_pago, a.rango_renta, c.cartera, c.fecha_trandeuda, c.fin,
           min(a.fecha_asignacion) OVER (PARTITION BY c.archivo, a.cuenta) AS fecha_asignacion
    FROM raw.asignaciones a
    JOIN camp c ON c.k = upper(CASE WHEN lower(right(a.archivo, 4)) = '.txt' THEN left(a.archivo, -4)
                                    ELSE a.archivo END)
    ORDER BY c.archivo, a.cuenta, a.creado_el DESC, a.cod_luna COLLATE "C" DESC, a.archivo COLLATE "C" DESC
)
SELECT a.archivo, a.cuenta, a.fecha_asignacion, a.cod_luna, a.negocio,
       CASE WHEN upper(trim(a.negocio)) = 'MOVIL' THEN 'MOVIL' ELSE 'FIJA' END,
       a.tramo_gestion, a.zona, a.min_vto, a.decil_contacto, a.decil_pago, a.rango_renta, a.cartera,
       to_char(a.fecha_asignacion, 'YYYY-MM'), s.fecha_proceso, COALESCE(s.monto, 0),
       s.fecha_proceso IS NOT NULL AND COALESCE(s.monto, 0) >= 1.00
FROM acc a
LEFT JOIN LATERAL (
    -- the fecha_trandeuda snapshot if the account is in it, else its first snapshot in
    -- [fecha_asignacion, fin]: point lookups on the (day, account) key, in day order,
    -- stopping at the first hit
    (SELECT d.fecha_proceso, d.monto FROM aux.deuda_snapshot d
     WHERE d.fecha_proceso = a.fecha_trandeuda AND d.cod_cuenta = a.cuenta)
    UNION ALL
    (SELECT d.fecha_proceso, d.monto
     FROM sd
     JOIN aux.deuda_snapshot d ON d.fecha_proceso = sd.fecha_proceso AND d.cod_cuenta = a.cuenta
     WHERE sd.fecha_proceso BETWEEN a.fecha_asignacion AND a.fin
     ORDER BY sd.fecha_proceso LIMIT 1)
    LIMIT 1
) s ON true
