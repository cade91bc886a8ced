-- mibotair_gestiones: domain.md §1. The FROM table, `project.dataset.table`, is templated from
-- identifiers validated against ^[A-Za-z0-9_-]+$ at config load; values are parameters.
-- Incremental on date.
SELECT
  uid,
  campaign_id,
  campaign_name,
  document,
  management,
  sub_management,
  origin,
  n1,
  n2,
  n3,
  observacion,
  extra,
  project,
  client,
  nombre_agente,
  correo_agente,
  url,
  phone,
  `date`,
  fecha_compromiso,
  monto_compromiso,
  weight,
  duracion
FROM {{table}}
WHERE `date` >= @from AND `date` < @to
