-- mart_assignment_data (sql/transform/091): per (periodo, archivo, cartera, servicio,
-- fecha_vencimiento = min_vto) over the accounts whose periodo (month of
-- fecha_asignacion) is the row's. deuda_actual is the debt at S(a, E), E = LEAST(last
-- day of periodo, @as_of), S(a, E) the greatest snapshot day ≤ E holding an account of
-- the campaign; 0 for accounts absent from it. ticket_promedio = deuda_asig / cuentas
-- rounded half away from zero, in integer cents (exact; see README).
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.mart_assignment_data`
CLUSTER BY archivo
AS
WITH snaps AS (
  SELECT d.cod_cuenta, ARRAY_AGG(STRUCT(d.fecha_proceso, d.monto)) AS arr
  FROM `{{.Project}}.{{.TransformDataset}}.aux_deuda_snapshot` d
  GROUP BY d.cod_cuenta
), acc AS (
  SELECT ac.*, sn.arr
  FROM `{{.Project}}.{{.TransformDataset}}.aux_asignacion_cuenta` ac
  LEFT JOIN snaps sn ON sn.cod_cuenta = ac.cuenta
), cs AS (
  -- snapshot days holding an account of each campaign
  SELECT DISTINCT a.archivo, x.fecha_proceso AS s
  FROM acc a
  CROSS JOIN UNNEST(a.arr) x
), pe AS (
  SELECT p.archivo, p.periodo,
         LEAST(LAST_DAY(PARSE_DATE('%Y-%m', p.periodo)), @as_of) AS e
  FROM (SELECT DISTINCT archivo, periodo FROM acc) p
), ps AS (
  SELECT pe.archivo, pe.periodo, MAX(cs.s) AS s
  FROM pe
  LEFT JOIN cs ON cs.archivo = pe.archivo AND cs.s <= pe.e
  GROUP BY pe.archivo, pe.periodo
), rows_ AS (
  SELECT a.periodo, a.archivo, a.cartera, a.servicio, a.min_vto, a.cod_luna, a.gestionable, a.deuda_asig,
         (SELECT x.monto FROM UNNEST(a.arr) x WHERE x.fecha_proceso = ps.s) AS deuda_actual
  FROM acc a
  JOIN ps ON ps.archivo = a.archivo AND ps.periodo = a.periodo
), agg AS (
  SELECT periodo, archivo, cartera, servicio, min_vto AS fecha_vencimiento,
         COUNT(DISTINCT cod_luna) AS clientes, COUNT(*) AS cuentas, COUNTIF(gestionable) AS cuentas_gestionables,
         SUM(deuda_asig) AS deuda_asig, COALESCE(SUM(deuda_actual), CAST(0 AS NUMERIC)) AS deuda_actual,
         CAST(SUM(deuda_asig) * 100 AS INT64) AS cents
  FROM rows_
  GROUP BY periodo, archivo, cartera, servicio, min_vto
)
SELECT periodo, archivo, cartera, servicio, fecha_vencimiento, clientes, cuentas, cuentas_gestionables,
       deuda_asig, deuda_actual,
       CAST(SIGN(cents) * DIV(2 * ABS(cents) + cuentas, 2 * cuentas) AS NUMERIC) / 100 AS ticket_promedio
FROM agg
