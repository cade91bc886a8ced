-- ejecutivos: domain.md §1. The FROM table, `project.dataset.table`, is templated from
-- identifiers validated against ^[A-Za-z0-9_-]+$ at config load; values are parameters.
-- Full table, identical rows collapsed, only the configured client
-- (etl.ejecutivos_id_cliente).
SELECT DISTINCT
  correo_name,
  nombre,
  document,
  id_cliente
FROM {{table}}
WHERE id_cliente = @id_cliente
