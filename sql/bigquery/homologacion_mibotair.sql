-- homologacion_mibotair: domain.md §1. The FROM table, `project.dataset.table`, is templated from
-- identifiers validated against ^[A-Za-z0-9_-]+$ at config load; values are parameters.
-- Full table.
SELECT
  management,
  n_1,
  n_2,
  n_3,
  contactabilidad,
  tipo_gestion,
  codigo_rpta,
  pdp,
  gestor,
  peso
FROM {{table}}
