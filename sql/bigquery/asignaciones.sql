-- asignaciones: domain.md §1. The FROM table, `project.dataset.table`, is templated from
-- identifiers validated against ^[A-Za-z0-9_-]+$ at config load; values are parameters.
-- Incremental on creado_el: the window [@from, @to) is pushed down.
SELECT
  cliente,
  cuenta,
  cod_luna,
  telefono,
  archivo,
  tramo_gestion,
  negocio,
  dias_sin_trafico,
  zona,
  campania_act,
  min_vto,
  decil_contacto,
  decil_pago,
  rango_renta,
  creado_el
FROM {{table}}
WHERE creado_el >= @from AND creado_el < @to
