-- mart.assignment_clientes (domain.md §5.2): distinct clients per (periodo, cartera
-- subset, servicio subset), all 16 × 4 subsets per periodo, arrays sorted in byte
-- order. An empty array means "no filter" (every cartera / servicio), as the API
-- treats TODAS / TODOS. Each client's (cartera, servicio) combinations form a bitmask
-- (bit 2·cartera + servicio), so the 64 counts come from at most 256 masks instead of
-- 64 COUNT(DISTINCT) passes.
-- $1 all (boolean), $2 periodos (text[])
INSERT INTO mart.assignment_clientes (periodo, carteras, servicios, clientes)
WITH cart(name, i) AS (
    VALUES ('ALTAS_NUEVAS', 0), ('CUOTA_FRACCIONAMIENTO', 1), ('OTRAS', 2), ('TEMPRANA', 3)
), serv(name, j) AS (
    VALUES ('FIJA', 0), ('MOVIL', 1)
), cli AS (
    SELECT ac.periodo, ac.cod_luna, bit_or(1 << (c.i * 2 + s.j)) AS mask
    FROM aux.asignacion_cuenta ac
    JOIN cart c ON c.name = ac.cartera
    JOIN serv s ON s.name = ac.servicio
    WHERE $1::boolean OR ac.periodo = ANY ($2::text[])
    GROUP BY ac.periodo, ac.cod_luna
), masks AS (
    SELECT periodo, mask, count(*) AS n FROM cli GROUP BY periodo, mask
), subsets AS (
    SELECT cm.m AS cm, sm.m AS sm,
           ARRAY(SELECT name FROM cart WHERE cm.m & (1 << i) <> 0 ORDER BY i) AS carteras,
           ARRAY(SELECT name FROM serv WHERE sm.m & (1 << j) <> 0 ORDER BY j) AS servicios,
           (SELECT COALESCE(bit_or(1 << (c.i * 2 + s.j)), 0) FROM cart c CROSS JOIN serv s
            WHERE (cm.m = 0 OR cm.m & (1 << c.i) <> 0) AND (sm.m = 0 OR sm.m & (1 << s.j) <> 0)) AS want
    FROM generate_series(0, 15) AS cm(m)
    CROSS JOIN generate_series(0, 3) AS sm(m)
)
SELECT p.periodo, s.carteras, s.servicios, COALESCE(sum(m.n) FILTER (WHERE m.mask & s.want <> 0), 0)
FROM (SELECT DISTINCT periodo FROM masks) p
CROSS JOIN subsets s
LEFT JOIN masks m ON m.periodo = p.periodo
GROUP BY p.periodo, s.carteras, s.servicios
