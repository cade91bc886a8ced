-- mart.dashboard_data (domain.md §5.1) for each campaign in $1 and its built days
-- [GREATEST(start, apertura), LEAST(fin, today)].
-- The cumulative counters come from each account's first-event dates (assignment,
-- snap_asig, first gestión, first CD, first CI, first PDP, first payment) and from each
-- gestión's and payment's date, turned into per-day deltas and summed with one running
-- SUM per (archivo, servicio): history is read once per campaign, never per day.
-- An event counts at D only once the account is in P (fecha_asignacion ≤ D), hence
-- GREATEST(fecha_asignacion, event date). cuentas_ci = CI reached and CD not yet
-- reached: +1 at the first CI, −1 at GREATEST(first CI, first CD).
-- A campaign rebuilt from a day after its apertura starts from its stored row of the
-- day before (the planner guarantees earlier rows are unchanged): its counters are the
-- base, and only events from the start day on are added, so the gestiones and
-- payments of earlier days are not read again (first-event dates still are: an
-- account's first gestión decides whether a later one adds to it).
-- deuda_act: S(a, D) is the greatest snapshot day ≤ D holding an account of a; the
-- debt of the accounts assigned ≤ D is summed at that snapshot (0 when absent).
-- $1 archivos (text[]), $2 start day per archivo (date[]), $3 today (date)
INSERT INTO mart.dashboard_data (
    fecha_foto, archivo, cartera, servicio, cuentas, clientes, cuentas_gestionables, deuda_asig, deuda_act,
    cuentas_gestionadas, total_gestiones, gestiones_bot, gestiones_call, cuentas_cd, cuentas_ci, cuentas_sc,
    cuentas_sg, cuentas_pdp, cuentas_pagadoras, recupero)
WITH sd AS MATERIALIZED (
    -- computed once: the lookups below probe it per account or campaign
    SELECT fecha_proceso FROM aux.snapshot_days
), r AS (
    SELECT c.archivo, c.cartera, c.fecha_apertura AS apertura, GREATEST(x.desde, c.fecha_apertura) AS desde,
           LEAST(c.fin, $3::date) AS hasta,
           -- the first day counted from scratch: before apertura when rebuilt whole
           CASE WHEN x.desde > c.fecha_apertura THEN x.desde ELSE '-infinity'::date END AS nuevo
    FROM unnest($1::text[], $2::date[]) AS x(archivo, desde)
    JOIN aux.campana c ON c.archivo = x.archivo
    WHERE GREATEST(x.desde, c.fecha_apertura) <= LEAST(c.fin, $3::date)
), acc AS (
    SELECT ac.archivo, ac.cuenta, ac.cod_luna, ac.servicio, ac.fecha_asignacion AS fa,
           ac.snap_asig, ac.deuda_asig, ac.gestionable, r.nuevo
    FROM aux.asignacion_cuenta ac
    JOIN r ON r.archivo = ac.archivo
    WHERE ac.fecha_asignacion <= r.hasta
), cli AS (
    -- each client's first assignment day per (archivo, servicio)
    SELECT a.archivo, a.servicio, a.cod_luna, min(a.fa) AS fa, min(a.nuevo) AS nuevo
    FROM acc a
    GROUP BY a.archivo, a.servicio, a.cod_luna
), gf AS (
    SELECT gc.archivo, gc.cuenta, min(gc.fecha) AS f_g,
           min(gc.fecha) FILTER (WHERE gc.es_cd) AS f_cd,
           min(gc.fecha) FILTER (WHERE gc.es_ci) AS f_ci,
           min(gc.fecha) FILTER (WHERE gc.es_pdp) AS f_pdp
    FROM aux.gestion_cuenta gc
    JOIN r ON r.archivo = gc.archivo
    WHERE gc.fecha <= r.hasta
    GROUP BY gc.archivo, gc.cuenta
), pf AS (
    SELECT pc.archivo, pc.cuenta, min(pc.fecha_pago) AS f_p
    FROM aux.pago_campana pc
    JOIN r ON r.archivo = pc.archivo
    WHERE pc.fecha_pago <= r.hasta
    GROUP BY pc.archivo, pc.cuenta
), firsts AS (
    -- effective first dates: NULL when the event never happened
    SELECT a.archivo, a.servicio, a.fa, a.deuda_asig, a.gestionable, a.nuevo,
           CASE WHEN a.snap_asig IS NOT NULL THEN GREATEST(a.fa, a.snap_asig) END AS d_snap,
           CASE WHEN g.f_g IS NOT NULL THEN GREATEST(a.fa, g.f_g) END AS d_g,
           CASE WHEN g.f_cd IS NOT NULL THEN GREATEST(a.fa, g.f_cd) END AS d_cd,
           CASE WHEN g.f_ci IS NOT NULL THEN GREATEST(a.fa, g.f_ci) END AS d_ci,
           CASE WHEN g.f_ci IS NOT NULL AND g.f_cd IS NOT NULL THEN GREATEST(a.fa, g.f_ci, g.f_cd) END AS d_ci_end,
           CASE WHEN g.f_pdp IS NOT NULL THEN GREATEST(a.fa, g.f_pdp) END AS d_pdp,
           CASE WHEN p.f_p IS NOT NULL THEN GREATEST(a.fa, p.f_p) END AS d_pag
    FROM acc a
    LEFT JOIN gf g ON g.archivo = a.archivo AND g.cuenta = a.cuenta
    LEFT JOIN pf p ON p.archivo = a.archivo AND p.cuenta = a.cuenta
    -- only accounts with an event from nuevo on (GREATEST skips NULLs)
    WHERE GREATEST(a.fa, a.snap_asig, g.f_g, g.f_cd, g.f_ci, g.f_pdp, p.f_p) >= a.nuevo
), ev AS (
    -- (archivo, servicio, day, cuentas, clientes, gestionables, deuda_asig, gestionadas,
    --  bot, call, cd, ci, pdp, pagadoras, recupero)
    SELECT f.archivo, f.servicio, e.day, e.cuentas, 0 AS clientes, e.gestionables, e.deuda_asig, e.gestionadas,
           0 AS bot, 0 AS call, e.cd, e.ci, e.pdp, e.pagadoras, 0::numeric AS recupero
    FROM firsts f
    CROSS JOIN LATERAL (VALUES
        (f.fa,       1, 0, 0::numeric, 0, 0, 0, 0, 0),
        (f.d_snap,   0, CASE WHEN f.gestionable THEN 1 ELSE 0 END, f.deuda_asig, 0, 0, 0, 0, 0),
        (f.d_g,      0, 0, 0::numeric, 1, 0, 0, 0, 0),
        (f.d_cd,     0, 0, 0::numeric, 0, 1, 0, 0, 0),
        (f.d_ci,     0, 0, 0::numeric, 0, 0, 1, 0, 0),
        (f.d_ci_end, 0, 0, 0::numeric, 0, 0, -1, 0, 0),
        (f.d_pdp,    0, 0, 0::numeric, 0, 0, 0, 1, 0),
        (f.d_pag,    0, 0, 0::numeric, 0, 0, 0, 0, 1)
    ) AS e(day, cuentas, gestionables, deuda_asig, gestionadas, cd, ci, pdp, pagadoras)
    WHERE e.day >= f.nuevo
    UNION ALL
    -- clientes: a client enters the row with its first account
    SELECT k.archivo, k.servicio, k.fa, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM cli k
    WHERE k.fa >= k.nuevo
    UNION ALL
    -- gestiones: a gestión is in ∪ G(x) of (archivo, servicio) exactly when its client has
    -- an account there assigned by its day and the day is in the window, so each one is
    -- counted once by joining the clients' first assignment days, without a distinct
    SELECT k.archivo, k.servicio, g.fecha, 0, 0, 0, 0, 0,
           count(*) FILTER (WHERE g.canal = 'VOICEBOT'), count(*) FILTER (WHERE g.canal = 'CALL_CENTER'),
           0, 0, 0, 0, 0
    FROM cli k
    JOIN r ON r.archivo = k.archivo
    JOIN aux.gestiones_unificadas g ON g.cod_luna = k.cod_luna AND g.fecha >= k.fa
    WHERE g.fecha BETWEEN GREATEST(r.nuevo, r.apertura) AND r.hasta
      -- the same bounds over all campaigns, as constants: an index range of the days
      -- counted from scratch instead of every gestión
      AND g.fecha >= (SELECT min(GREATEST(r2.nuevo, r2.apertura)) FROM r r2)
      AND g.fecha <= (SELECT max(r2.hasta) FROM r r2)
    GROUP BY k.archivo, k.servicio, g.fecha
    UNION ALL
    -- recupero: each payment of the campaign once the account is in P
    SELECT pc.archivo, a.servicio, GREATEST(pc.fecha_pago, a.fa), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, pc.monto_cancelado
    FROM aux.pago_campana pc
    JOIN acc a ON a.archivo = pc.archivo AND a.cuenta = pc.cuenta
    JOIN r ON r.archivo = pc.archivo
    WHERE pc.fecha_pago <= r.hasta AND GREATEST(pc.fecha_pago, a.fa) >= r.nuevo
    UNION ALL
    -- the stored counters of the day before the start
    SELECT d.archivo, d.servicio, d.fecha_foto, d.cuentas, d.clientes, d.cuentas_gestionables, d.deuda_asig,
           d.cuentas_gestionadas, d.gestiones_bot, d.gestiones_call, d.cuentas_cd, d.cuentas_ci, d.cuentas_pdp,
           d.cuentas_pagadoras, d.recupero
    FROM r
    JOIN mart.dashboard_data d ON d.archivo = r.archivo AND d.fecha_foto = r.nuevo - 1
    UNION ALL
    -- the built days themselves, so every day has a running value
    SELECT r.archivo, s.servicio, g.day::date, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM r
    CROSS JOIN (VALUES ('MOVIL'), ('FIJA')) AS s(servicio)
    CROSS JOIN LATERAL generate_series(r.desde, r.hasta, interval '1 day') AS g(day)
), run AS (
    SELECT d.archivo, d.servicio, d.day,
           sum(d.cuentas) OVER w AS cuentas, sum(d.clientes) OVER w AS clientes,
           sum(d.gestionables) OVER w AS gestionables, sum(d.deuda_asig) OVER w AS deuda_asig,
           sum(d.gestionadas) OVER w AS gestionadas, sum(d.bot) OVER w AS bot, sum(d.call) OVER w AS call,
           sum(d.cd) OVER w AS cd, sum(d.ci) OVER w AS ci, sum(d.pdp) OVER w AS pdp,
           sum(d.pagadoras) OVER w AS pagadoras, sum(d.recupero) OVER w AS recupero
    FROM (
        SELECT archivo, servicio, day, sum(cuentas) AS cuentas, sum(clientes) AS clientes,
               sum(gestionables) AS gestionables, sum(deuda_asig) AS deuda_asig, sum(gestionadas) AS gestionadas,
               sum(bot) AS bot, sum(call) AS call, sum(cd) AS cd, sum(ci) AS ci, sum(pdp) AS pdp,
               sum(pagadoras) AS pagadoras, sum(recupero) AS recupero
        FROM ev
        GROUP BY archivo, servicio, day
    ) d
    WINDOW w AS (PARTITION BY d.archivo, d.servicio ORDER BY d.day)
), cs AS MATERIALIZED (
    -- snapshot days holding an account of the campaign: the greatest one on or before
    -- the first built day (searched backwards, one probe per day until a hit), and
    -- every one after it up to the last built day. A probe stops at the first account
    -- found in the day's snapshot.
    SELECT r.archivo, sd.fecha_proceso AS s
    FROM r
    JOIN sd ON sd.fecha_proceso > r.desde AND sd.fecha_proceso <= r.hasta
    WHERE EXISTS (SELECT 1 FROM aux.asignacion_cuenta ac
                  CROSS JOIN LATERAL (SELECT 1 FROM aux.deuda_snapshot d
                                      WHERE d.cod_cuenta = ac.cuenta AND d.fecha_proceso = sd.fecha_proceso
                                      LIMIT 1) hit
                  WHERE ac.archivo = r.archivo)
    UNION ALL
    SELECT r.archivo,
           (SELECT sd.fecha_proceso FROM sd
            WHERE sd.fecha_proceso <= r.desde
              AND EXISTS (SELECT 1 FROM aux.asignacion_cuenta ac
                          CROSS JOIN LATERAL (SELECT 1 FROM aux.deuda_snapshot d
                                              WHERE d.cod_cuenta = ac.cuenta AND d.fecha_proceso = sd.fecha_proceso
                                              LIMIT 1) hit
                          WHERE ac.archivo = r.archivo)
            ORDER BY sd.fecha_proceso DESC LIMIT 1)
    FROM r
), gs AS MATERIALIZED (
    -- S(a, D) for every built day
    SELECT r.archivo, g.day::date AS day,
           (SELECT max(cs.s) FROM cs WHERE cs.archivo = r.archivo AND cs.s <= g.day::date) AS s
    FROM r
    CROSS JOIN LATERAL generate_series(r.desde, r.hasta, interval '1 day') AS g(day)
), t AS (
    -- debt at each needed snapshot, by servicio and assignment day
    SELECT a.archivo, a.servicio, d.fecha_proceso AS s, a.fa, sum(d.monto) AS monto
    FROM aux.deuda_snapshot d
    JOIN acc a ON a.cuenta = d.cod_cuenta
    JOIN (SELECT DISTINCT archivo, s FROM gs WHERE s IS NOT NULL) n ON n.archivo = a.archivo AND n.s = d.fecha_proceso
    -- only the needed snapshot days are read (an index range each)
    WHERE d.fecha_proceso = ANY (ARRAY(SELECT DISTINCT s FROM gs WHERE s IS NOT NULL))
    GROUP BY a.archivo, a.servicio, d.fecha_proceso, a.fa
), da AS (
    SELECT gs.archivo, t.servicio, gs.day, sum(t.monto) AS deuda_act
    FROM gs
    JOIN t ON t.archivo = gs.archivo AND t.s = gs.s AND t.fa <= gs.day
    GROUP BY gs.archivo, t.servicio, gs.day
)
SELECT run.day, run.archivo, r.cartera, run.servicio, run.cuentas, run.clientes, run.gestionables,
       run.deuda_asig, COALESCE(da.deuda_act, 0), run.gestionadas, run.bot + run.call, run.bot, run.call,
       run.cd, run.ci, run.gestionadas - run.cd - run.ci, run.cuentas - run.gestionadas, run.pdp,
       run.pagadoras, run.recupero
FROM run
JOIN r ON r.archivo = run.archivo AND run.day BETWEEN r.desde AND r.hasta
LEFT JOIN da ON da.archivo = run.archivo AND da.servicio = run.servicio AND da.day = run.day
WHERE run.cuentas > 0
