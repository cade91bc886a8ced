-- pagos: domain.md §1. The FROM table, `project.dataset.table`, is templated from
-- identifiers validated against ^[A-Za-z0-9_-]+$ at config load; values are parameters.
-- Incremental on creado_el. Filters as trandeuda: monto_cancelado > 0 after rounding
-- (>= 0.005), motivo_rechazo NULL or blank.
SELECT
  cod_sistema,
  nro_documento,
  archivo,
  motivo_rechazo,
  monto_cancelado,
  fecha_pago,
  creado_el
FROM {{table}}
WHERE creado_el >= @from AND creado_el < @to
  AND monto_cancelado >= 0.005
  AND (motivo_rechazo IS NULL OR TRIM(motivo_rechazo) = '')
