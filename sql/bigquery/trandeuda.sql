-- trandeuda: domain.md §1. The FROM table, `project.dataset.table`, is templated from
-- identifiers validated against ^[A-Za-z0-9_-]+$ at config load; values are parameters.
-- Incremental on creado_el. Filters: monto_exigible > 0 after rounding to 2 decimals
-- (a FLOAT64 is at least 0.005 exactly when its shortest decimal text rounds half away
-- from zero to more than 0.00, the value the file source filters on), and motivo_rechazo
-- NULL or blank.
SELECT
  cod_cuenta,
  nro_documento,
  archivo,
  motivo_rechazo,
  fecha_vencimiento,
  monto_exigible,
  creado_el
FROM {{table}}
WHERE creado_el >= @from AND creado_el < @to
  AND monto_exigible >= 0.005
  AND (motivo_rechazo IS NULL OR TRIM(motivo_rechazo) = '')
