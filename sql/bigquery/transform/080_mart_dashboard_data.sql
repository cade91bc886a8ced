-- mart_dashboard_data (sql/transform/081), rebuilt whole: for each campaign its built
-- days [apertura, LEAST(fin, @as_of)], per servicio. The cumulative counters come from
-- each account's first-event dates (assignment, snap_asig, first gestión, first CD,
-- first CI, first PDP, first payment) and each gestión's and payment's date, as per-day
-- deltas; an event counts at D only once the account is in P (fecha_asignacion ≤ D),
-- hence GREATEST(fecha_asignacion, event date). cuentas_ci = CI reached and CD not yet:
-- +1 at the first CI, −1 at GREATEST(first CI, first CD). The running totals are a
-- GROUP BY over a day spine joined to the daily deltas of earlier days (exact for
-- NUMERIC everywhere; see README), not a window SUM.
-- deuda_act: S(a, D) is the greatest snapshot day ≤ D holding an account of a; the debt
-- of the accounts assigned ≤ D is summed at that snapshot (0 when absent).
CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.mart_dashboard_data`
PARTITION BY fecha_foto
CLUSTER BY archivo
AS
WITH r AS (
  SELECT c.archivo, c.cartera, c.fecha_apertura AS desde, LEAST(c.fin, @as_of) AS hasta
  FROM `{{.Project}}.{{.TransformDataset}}.aux_campana` c
  WHERE c.fecha_apertura <= LEAST(c.fin, @as_of)
), acc AS (
  SELECT ac.archivo, ac.cuenta, ac.cod_luna, ac.servicio, ac.fecha_asignacion AS fa,
         ac.snap_asig, ac.deuda_asig, ac.gestionable
  FROM `{{.Project}}.{{.TransformDataset}}.aux_asignacion_cuenta` ac
  JOIN r ON r.archivo = ac.archivo
  WHERE ac.fecha_asignacion <= r.hasta
), cli AS (
  -- each client's first assignment day per (archivo, servicio)
  SELECT archivo, servicio, cod_luna, MIN(fa) AS fa
  FROM acc
  GROUP BY archivo, servicio, cod_luna
), gf AS (
  SELECT gc.archivo, gc.cuenta, MIN(gc.fecha) AS f_g,
         MIN(IF(gc.es_cd, gc.fecha, NULL)) AS f_cd,
         MIN(IF(gc.es_ci, gc.fecha, NULL)) AS f_ci,
         MIN(IF(gc.es_pdp, gc.fecha, NULL)) AS f_pdp
  FROM `{{.Project}}.{{.TransformDataset}}.aux_gestion_cuenta` gc
  JOIN r ON r.archivo = gc.archivo
  WHERE gc.fecha <= r.hasta
  GROUP BY gc.archivo, gc.cuenta
), pf AS (
  SELECT pc.archivo, pc.cuenta, MIN(pc.fecha_pago) AS f_p
  FROM `{{.Project}}.{{.TransformDataset}}.aux_pago_campana` pc
  JOIN r ON r.archivo = pc.archivo
  WHERE pc.fecha_pago <= r.hasta
  GROUP BY pc.archivo, pc.cuenta
), firsts AS (
  -- effective first dates: NULL when the event never happened (GREATEST is NULL when
  -- any argument is, so every one is guarded)
  SELECT a.archivo, a.servicio, a.fa, a.deuda_asig, a.gestionable,
         IF(a.snap_asig IS NOT NULL, GREATEST(a.fa, a.snap_asig), NULL) AS d_snap,
         IF(g.f_g IS NOT NULL, GREATEST(a.fa, g.f_g), NULL) AS d_g,
         IF(g.f_cd IS NOT NULL, GREATEST(a.fa, g.f_cd), NULL) AS d_cd,
         IF(g.f_ci IS NOT NULL, GREATEST(a.fa, g.f_ci), NULL) AS d_ci,
         IF(g.f_ci IS NOT NULL AND g.f_cd IS NOT NULL, GREATEST(a.fa, g.f_ci, g.f_cd), NULL) AS d_ci_end,
         IF(g.f_pdp IS NOT NULL, GREATEST(a.fa, g.f_pdp), NULL) AS d_pdp,
         IF(p.f_p IS NOT NULL, GREATEST(a.fa, p.f_p), NULL) AS d_pag
  FROM acc a
  LEFT JOIN gf g ON g.archivo = a.archivo AND g.cuenta = a.cuenta
  LEFT JOIN pf p ON p.archivo = a.archivo AND p.cuenta = a.cuenta
), ev AS (
  SELECT f.archivo, f.servicio, e.day, e.cuentas, 0 AS clientes, e.gestionables, e.deuda_asig, e.gestionadas,
         0 AS bot, 0 AS cc, e.cd, e.ci, e.pdp, e.pagadoras, CAST(0 AS NUMERIC) AS recupero
  FROM firsts f
  CROSS JOIN UNNEST([
    STRUCT(f.fa AS day, 1 AS cuentas, 0 AS gestionables, CAST(0 AS NUMERIC) AS deuda_asig, 0 AS gestionadas,
           0 AS cd, 0 AS ci, 0 AS pdp, 0 AS pagadoras),
    STRUCT(f.d_snap, 0, IF(f.gestionable, 1, 0), f.deuda_asig, 0, 0, 0, 0, 0),
    STRUCT(f.d_g, 0, 0, CAST(0 AS NUMERIC), 1, 0, 0, 0, 0),
    STRUCT(f.d_cd, 0, 0, CAST(0 AS NUMERIC), 0, 1, 0, 0, 0),
    STRUCT(f.d_ci, 0, 0, CAST(0 AS NUMERIC), 0, 0, 1, 0, 0),
    STRUCT(f.d_ci_end, 0, 0, CAST(0 AS NUMERIC), 0, 0, -1, 0, 0),
    STRUCT(f.d_pdp, 0, 0, CAST(0 AS NUMERIC), 0, 0, 0, 1, 0),
    STRUCT(f.d_pag, 0, 0, CAST(0 AS NUMERIC), 0, 0, 0, 0, 1)
  ]) AS e
  WHERE e.day IS NOT NULL
  UNION ALL
  -- clientes: a client enters the row with its first account
  SELECT k.archivo, k.servicio, k.fa, 0, 1, 0, CAST(0 AS NUMERIC), 0, 0, 0, 0, 0, 0, 0, CAST(0 AS NUMERIC)
  FROM cli k
  UNION ALL
  -- gestiones: a gestión is in ∪ G(x) of (archivo, servicio) exactly when its client has
  -- an account there assigned by its day and the day is in the window
  SELECT k.archivo, k.servicio, g.fecha, 0, 0, 0, CAST(0 AS NUMERIC), 0,
         COUNTIF(g.canal = 'VOICEBOT'), COUNTIF(g.canal = 'CALL_CENTER'), 0, 0, 0, 0, CAST(0 AS NUMERIC)
  FROM cli k
  JOIN r ON r.archivo = k.archivo
  JOIN `{{.Project}}.{{.TransformDataset}}.aux_gestiones_unificadas` g
    ON g.cod_luna = k.cod_luna AND g.fecha >= k.fa
  WHERE g.fecha BETWEEN r.desde AND r.hasta
  GROUP BY k.archivo, k.servicio, g.fecha
  UNION ALL
  -- recupero: each payment of the campaign once the account is in P
  SELECT pc.archivo, a.servicio, GREATEST(pc.fecha_pago, a.fa), 0, 0, 0, CAST(0 AS NUMERIC), 0, 0, 0, 0, 0, 0, 0,
         pc.monto_cancelado
  FROM `{{.Project}}.{{.TransformDataset}}.aux_pago_campana` pc
  JOIN acc a ON a.archivo = pc.archivo AND a.cuenta = pc.cuenta
  JOIN r ON r.archivo = pc.archivo
  WHERE pc.fecha_pago <= r.hasta
), daily AS (
  SELECT archivo, servicio, day, SUM(cuentas) AS cuentas, SUM(clientes) AS clientes,
         SUM(gestionables) AS gestionables, SUM(deuda_asig) AS deuda_asig, SUM(gestionadas) AS gestionadas,
         SUM(bot) AS bot, SUM(cc) AS cc, SUM(cd) AS cd, SUM(ci) AS ci, SUM(pdp) AS pdp,
         SUM(pagadoras) AS pagadoras, SUM(recupero) AS recupero
  FROM ev
  GROUP BY archivo, servicio, day
), spine AS (
  SELECT r.archivo, r.cartera, s AS servicio, d AS day
  FROM r
  CROSS JOIN UNNEST(['MOVIL', 'FIJA']) AS s
  CROSS JOIN UNNEST(GENERATE_DATE_ARRAY(r.desde, r.hasta)) AS d
), run AS (
  -- running totals: every day's deltas up to D, summed per (archivo, servicio, D)
  SELECT sp.archivo, sp.cartera, sp.servicio, sp.day,
         SUM(d.cuentas) AS cuentas, SUM(d.clientes) AS clientes, SUM(d.gestionables) AS gestionables,
         SUM(d.deuda_asig) AS deuda_asig, SUM(d.gestionadas) AS gestionadas, SUM(d.bot) AS bot, SUM(d.cc) AS cc,
         SUM(d.cd) AS cd, SUM(d.ci) AS ci, SUM(d.pdp) AS pdp, SUM(d.pagadoras) AS pagadoras,
         SUM(d.recupero) AS recupero
  FROM spine sp
  JOIN daily d ON d.archivo = sp.archivo AND d.servicio = sp.servicio AND d.day <= sp.day
  GROUP BY sp.archivo, sp.cartera, sp.servicio, sp.day
), snaps AS (
  SELECT d.cod_cuenta, ARRAY_AGG(STRUCT(d.fecha_proceso, d.monto)) AS arr
  FROM `{{.Project}}.{{.TransformDataset}}.aux_deuda_snapshot` d
  GROUP BY d.cod_cuenta
), held AS (
  -- every account of the built campaigns with its snapshots
  SELECT ac.archivo, ac.servicio, ac.fecha_asignacion AS fa, r.hasta, sn.arr
  FROM `{{.Project}}.{{.TransformDataset}}.aux_asignacion_cuenta` ac
  JOIN r ON r.archivo = ac.archivo
  LEFT JOIN snaps sn ON sn.cod_cuenta = ac.cuenta
), hs AS (
  SELECT h.archivo, h.servicio, h.fa, h.hasta, x.fecha_proceso AS s, x.monto
  FROM held h
  CROSS JOIN UNNEST(h.arr) AS x
  WHERE x.fecha_proceso <= h.hasta
), cs AS (
  -- snapshot days holding an account of the campaign
  SELECT DISTINCT archivo, s FROM hs
), gs AS (
  -- S(a, D) for every built day
  SELECT sp.archivo, sp.day, MAX(cs.s) AS s
  FROM (SELECT DISTINCT archivo, day FROM spine) sp
  JOIN cs ON cs.archivo = sp.archivo AND cs.s <= sp.day
  GROUP BY sp.archivo, sp.day
), t AS (
  -- debt at each needed snapshot, by servicio and assignment day
  SELECT hs.archivo, hs.servicio, hs.s, hs.fa, SUM(hs.monto) AS monto
  FROM hs
  JOIN (SELECT DISTINCT archivo, s FROM gs) n ON n.archivo = hs.archivo AND n.s = hs.s
  WHERE hs.fa <= hs.hasta
  GROUP BY hs.archivo, hs.servicio, hs.s, hs.fa
), da AS (
  SELECT gs.archivo, t.servicio, gs.day, SUM(t.monto) AS deuda_act
  FROM gs
  JOIN t ON t.archivo = gs.archivo AND t.s = gs.s AND t.fa <= gs.day
  GROUP BY gs.archivo, t.servicio, gs.day
)
SELECT run.day AS fecha_foto, run.archivo, run.cartera, run.servicio, run.cuentas, run.clientes,
       run.gestionables AS cuentas_gestionables, run.deuda_asig, COALESCE(da.deuda_act, CAST(0 AS NUMERIC)) AS deuda_act,
       run.gestionadas AS cuentas_gestionadas, run.bot + run.cc AS total_gestiones, run.bot AS gestiones_bot,
       run.cc AS gestiones_call, run.cd AS cuentas_cd, run.ci AS cuentas_ci,
       run.gestionadas - run.cd - run.ci AS cuentas_sc, run.cuentas - run.gestionadas AS cuentas_sg,
       run.pdp AS cuentas_pdp, run.pagadoras AS cuentas_pagadoras, run.recupero
FROM run
LEFT JOIN da ON da.archivo = run.archivo AND da.servicio = run.servicio AND da.day = run.day
WHERE run.cuentas > 0
