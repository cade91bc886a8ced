-- aux.deuda_snapshot (domain.md §4.2): per account and fecha_proceso, the sum over its
-- distinct documents that day. A document delivered in several load files counts
-- once: the row with the greatest creado_el, then the greatest archivo (byte order).
-- $3/$4 bound the days so the BRIN index on fecha_proceso narrows the scan.
-- $1 all (boolean), $2 days (date[]), $3 first day, $4 last day (date)
INSERT INTO aux.deuda_snapshot (cod_cuenta, fecha_proceso, monto, n_documentos)
SELECT d.cod_cuenta, d.fecha_proceso, sum(d.monto_exigible), count(*)
FROM (
    SELECT DISTINCT ON (t.fecha_proceso, t.cod_cuenta, t.nro_documento)
           t.cod_cuenta, t.fecha_proceso, t.monto_exigible
    FROM raw.trandeuda t
    WHERE $1::boolean
       OR (t.fecha_proceso BETWEEN $3::date AND $4::date AND t.fecha_proceso = ANY ($2::date[]))
    ORDER BY t.fecha_proceso, t.cod_cuenta, t.nro_documento, t.creado_el DESC, t.archivo COLLATE "C" DESC
) d
GROUP BY d.fecha_proceso, d.cod_cuenta
