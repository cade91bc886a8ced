-- aux.pago_campana (domain.md §4.7): each valid payment × every campaign that holds
-- its account and whose window holds fecha_pago.
-- $1 all (boolean), $2 days (date[])
INSERT INTO aux.pago_campana (nro_documento, fecha_pago, monto_cancelado, archivo, cuenta, cod_luna)
SELECT p.nro_documento, p.fecha_pago, p.monto_cancelado, ac.archivo, ac.cuenta, ac.cod_luna
FROM aux.pago_dedup p
JOIN aux.asignacion_cuenta ac ON ac.cuenta = p.cuenta
JOIN aux.campana c ON c.archivo = ac.archivo AND p.fecha_pago BETWEEN c.fecha_apertura AND c.fin
WHERE p.es_valido AND ($1::boolean OR p.fecha_pago = ANY ($2::date[]))
