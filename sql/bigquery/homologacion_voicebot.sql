-- homologacion_voicebot: domain.md §1. The FROM table, `project.dataset.table`, is templated from
-- identifiers validated against ^[A-Za-z0-9_-]+$ at config load; values are parameters.
-- Full table.
SELECT
  bot_management,
  bot_sub_management,
  bot_compromiso,
  n1_homologado,
  n2_homologado,
  n3_homologado,
  contactabilidad_homologada,
  es_pdp_homologado,
  peso_homologado
FROM {{table}}
