-- Payment days to re-attribute after trandeuda changed on the days in $1 (domain.md §6):
-- payments of documents present on a changed day whose account lookup (latest snapshot
-- ≤ fecha_pago, else earliest after) can change: the changed day is ≤ fecha_pago, or
-- the document has no snapshot ≤ fecha_pago at all.
-- $1 days (date[])
SELECT DISTINCT p.fecha_pago
FROM raw.pagos p
JOIN LATERAL (
    SELECT min(t.fecha_proceso) AS dmin
    FROM raw.trandeuda t
    WHERE t.nro_documento = p.nro_documento AND t.fecha_proceso = ANY ($1::date[])
) c ON c.dmin IS NOT NULL
WHERE c.dmin <= p.fecha_pago
   OR NOT EXISTS (SELECT 1 FROM raw.trandeuda t
                  WHERE t.nro_documento = p.nro_documento AND t.fecha_proceso <= p.fecha_pago)
ORDER BY 1
