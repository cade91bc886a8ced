-- mart_assignment_clientes (sql/transform/093): distinct clients per (periodo, cartera
-- subset, servicio subset), all 16 × 4 subsets per periodo, arrays sorted; an empty
-- array means "no filter". Each client's (cartera, servicio) combinations form a bitmask
-- (bit 2·cartera + servicio), so the 64 counts come from at most 256 masks.
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.mart_assignment_clientes` AS
WITH cart AS (
  SELECT * FROM UNNEST([STRUCT('ALTAS_NUEVAS' AS name, 0 AS i), STRUCT('CUOTA_FRACCIONAMIENTO' AS name, 1 AS i),
                        STRUCT('OTRAS' AS name, 2 AS i), STRUCT('TEMPRANA' AS name, 3 AS i)])
), serv AS (
  SELECT * FROM UNNEST([STRUCT('FIJA' AS name, 0 AS j), STRUCT('MOVIL' AS name, 1 AS j)])
), cli AS (
  SELECT ac.periodo, ac.cod_luna, BIT_OR(1 << (c.i * 2 + s.j)) AS mask
  FROM `{{.Project}}.{{.TransformDataset}}.aux_asignacion_cuenta` ac
  JOIN cart c ON c.name = ac.cartera
  JOIN serv s ON s.name = ac.servicio
  GROUP BY ac.periodo, ac.cod_luna
), masks AS (
  SELECT periodo, mask, COUNT(*) AS n FROM cli GROUP BY periodo, mask
), pairs AS (
  SELECT c.i, s.j, 1 << (c.i * 2 + s.j) AS bit FROM cart c CROSS JOIN serv s
), subsets AS (
  SELECT cm, sm,
         ARRAY(SELECT name FROM cart WHERE cm & (1 << i) != 0 ORDER BY i) AS carteras,
         ARRAY(SELECT name FROM serv WHERE sm & (1 << j) != 0 ORDER BY j) AS servicios
  FROM UNNEST(GENERATE_ARRAY(0, 15)) AS cm
  CROSS JOIN UNNEST(GENERATE_ARRAY(0, 3)) AS sm
), want AS (
  -- the (cartera, servicio) bits a subset selects (a cross join: BigQuery refuses a LEFT
  -- JOIN without an equality)
  SELECT s.cm, s.sm,
         BIT_OR(IF((s.cm = 0 OR s.cm & (1 << p.i) != 0) AND (s.sm = 0 OR s.sm & (1 << p.j) != 0), p.bit, 0)) AS want
  FROM subsets s
  CROSS JOIN pairs p
  GROUP BY s.cm, s.sm
)
SELECT p.periodo, ANY_VALUE(s.carteras) AS carteras, ANY_VALUE(s.servicios) AS servicios,
       COALESCE(SUM(IF(m.mask & w.want != 0, m.n, 0)), 0) AS clientes
FROM (SELECT DISTINCT periodo FROM masks) p
CROSS JOIN subsets s
JOIN want w ON w.cm = s.cm AND w.sm = s.sm
LEFT JOIN masks m ON m.periodo = p.periodo
GROUP BY p.periodo, s.cm, s.sm
