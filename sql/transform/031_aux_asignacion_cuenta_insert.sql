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
WITH camp AS (
    SELECT c.archivo, upper(c.archivo) AS k, c.fecha_trandeuda, c.fin, c.cartera
    FROM aux.campana c
    WHERE $1::boolean OR c.archivo = ANY ($2::text[])
), acc AS (
    SELECT DISTINCT ON (c.archivo, a.cuenta)
           c.archivo, a.cuenta, a.cod_luna, a.negocio, a.tramo_gestion, a.zona, a.min_vto,
           a.decil_contacto, a.decil_pago, a.rango_renta, c.cartera, c.fecha_trandeuda, c.fin,
           min(a.fecha_asignacion) OVER (PARTITION BY c.archivo, a.cuenta) AS fecha_asignacion
    FROM raw.asignaciones a
    JOIN camp c ON c.k = upper(regexp_replace(a.archivo, '\.txt$', '', 'i'))
    ORDER BY c.archivo, a.cuenta, a.creado_el DESC, a.cod_luna COLLATE "C" DESC, a.archivo COLLATE "C" DESC
), snap AS (
    SELECT acc.*,
           COALESCE(
               (SELECT d.fecha_proceso FROM aux.deuda_snapshot d
                WHERE d.cod_cuenta = acc.cuenta AND d.fecha_proceso = acc.fecha_trandeuda),
               (SELECT min(d.fecha_proceso) FROM aux.deuda_snapshot d
                WHERE d.cod_cuenta = acc.cuenta AND d.fecha_proceso BETWEEN acc.fecha_asignacion AND acc.fin)
           ) AS snap_asig
    FROM acc
)
SELECT s.archivo, s.cuenta, s.fecha_asignacion, s.cod_luna, s.negocio,
       CASE WHEN upper(trim(s.negocio)) = 'MOVIL' THEN 'MOVIL' ELSE 'FIJA' END,
       s.tramo_gestion, s.zona, s.min_vto, s.decil_contacto, s.decil_pago, s.rango_renta, s.cartera,
       to_char(s.fecha_asignacion, 'YYYY-MM'), s.snap_asig, COALESCE(d.monto, 0),
       s.snap_asig IS NOT NULL AND COALESCE(d.monto, 0) >= 1.00
FROM snap s
LEFT JOIN aux.deuda_snapshot d ON d.cod_cuenta = s.cuenta AND d.fecha_proceso = s.snap_asig
