-- Payment days whose validity moved with today (domain.md §4.6, fecha_futura = after
-- today, checked after monto_no_positivo): rows marked fecha_futura that today has
-- reached, and rows not so marked that are now after today (--as-of moved back).
-- $1 today (date)
SELECT DISTINCT fecha_pago
FROM aux.pago_dedup
WHERE COALESCE(motivo_invalidez = 'fecha_futura', false) <> (monto_cancelado > 0 AND fecha_pago > $1::date)
ORDER BY 1
