-- calendario: domain.md §1. The FROM table, `project.dataset.table`, is templated from
-- identifiers validated against ^[A-Za-z0-9_-]+$ at config load; values are parameters.
-- Full table, re-read every run (closures arrive after apertura).
SELECT
  archivo,
  tipo_cartera,
  periodo_asignacion,
  rango_vencimiento,
  estado_cartera,
  periodo_mes,
  tipo_ciclo_campana,
  categoria_duracion,
  fecha_apertura,
  fecha_trandeuda,
  fecha_cierre,
  fecha_cierre_planificada,
  periodo_date,
  duracion_campana_dias_habiles,
  anno_asignacion,
  es_cartera_abierta
FROM {{table}}
