-- voicebot_gestiones: domain.md §1. The FROM table, `project.dataset.table`, is templated from
-- identifiers validated against ^[A-Za-z0-9_-]+$ at config load; values are parameters.
-- Incremental on date.
SELECT
  uid,
  campaign_id,
  campaign_name,
  document,
  management,
  sub_management,
  compromiso,
  origin,
  observacion,
  project,
  client,
  id_telephony,
  url_record_bot,
  phone,
  `date`,
  fecha_compromiso,
  weight,
  duracion
FROM {{table}}
WHERE `date` >= @from AND `date` < @to
