-- aux.pago_dedup (domain.md §4.6): one row per (nro_documento, fecha_pago,
-- monto_cancelado); times_seen = raw rows (one per load file).
-- cuenta: cod_cuenta of the document's latest snapshot on or before fecha_pago, else
-- its earliest snapshot after; ties the smallest cod_cuenta (byte order).
-- Validity, first failure wins: monto_no_positivo, fecha_futura (after today),
-- exceso_pagos_dia (more than $4 dedup rows share document and day: all invalid),
-- documento_desconocido (no cuenta).
-- $1 all (boolean), $2 days (date[]), $3 today (date), $4 max_pagos_doc_dia (integer)
INSERT INTO aux.pago_dedup (
    nro_documento, fecha_pago, monto_cancelado, times_seen, first_creado_el, last_creado_el,
    archivos_origen, cuenta, es_valido, motivo_invalidez)
WITH k AS (
    SELECT p.nro_documento, p.fecha_pago, p.monto_cancelado, count(*) AS times_seen,
           min(p.creado_el) AS first_creado_el, max(p.creado_el) AS last_creado_el,
           array_agg(p.archivo ORDER BY p.archivo COLLATE "C") AS archivos_origen
    FROM raw.pagos p
    WHERE $1::boolean OR p.fecha_pago = ANY ($2::date[])
    GROUP BY p.nro_documento, p.fecha_pago, p.monto_cancelado
), c AS (
    SELECT k.*,
           count(*) OVER (PARTITION BY k.nro_documento, k.fecha_pago) AS n_dia,
           COALESCE(
               (SELECT t.cod_cuenta FROM raw.trandeuda t
                WHERE t.nro_documento = k.nro_documento AND t.fecha_proceso <= k.fecha_pago
                ORDER BY t.fecha_proceso DESC, t.cod_cuenta COLLATE "C" LIMIT 1),
               (SELECT t.cod_cuenta FROM raw.trandeuda t
                WHERE t.nro_documento = k.nro_documento AND t.fecha_proceso > k.fecha_pago
                ORDER BY t.fecha_proceso, t.cod_cuenta COLLATE "C" LIMIT 1)
           ) AS cuenta
    FROM k
), v AS (
    SELECT c.*,
           CASE
               WHEN c.monto_cancelado <= 0 THEN 'monto_no_positivo'
               WHEN c.fecha_pago > $3::date THEN 'fecha_futura'
               WHEN c.n_dia > $4::integer THEN 'exceso_pagos_dia'
               WHEN c.cuenta IS NULL THEN 'documento_desconocido'
           END AS motivo
    FROM c
)
SELECT nro_documento, fecha_pago, monto_cancelado, times_seen, first_creado_el, last_creado_el,
       archivos_origen, cuenta, motivo IS NULL, motivo
FROM v
