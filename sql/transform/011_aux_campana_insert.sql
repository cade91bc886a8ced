-- aux.campana (domain.md §4.1): one row per calendario archivo. fecha_apertura is the
-- MIN over its rows; every other attribute comes from its latest row (greatest
-- periodo_date, then fecha_apertura). fin = COALESCE(fecha_cierre, today).
-- attr_hash covers the collapsed calendario attributes only (not fin, which moves
-- with today for open campaigns): a changed hash means a changed calendario.
-- $1 today (date)
INSERT INTO aux.campana (
    archivo, fecha_apertura, fecha_cierre, fecha_trandeuda, fecha_cierre_planificada, periodo_date,
    tipo_cartera, periodo_asignacion, rango_vencimiento, estado_cartera, periodo_mes, tipo_ciclo_campana,
    categoria_duracion, duracion_campana_dias_habiles, anno_asignacion, es_cartera_abierta,
    cartera, periodo, fin, attr_hash)
SELECT l.archivo, m.fecha_apertura, l.fecha_cierre, l.fecha_trandeuda, l.fecha_cierre_planificada, l.periodo_date,
       l.tipo_cartera, l.periodo_asignacion, l.rango_vencimiento, l.estado_cartera, l.periodo_mes, l.tipo_ciclo_campana,
       l.categoria_duracion, l.duracion_campana_dias_habiles, l.anno_asignacion, l.es_cartera_abierta,
       CASE
           WHEN strpos(upper(l.archivo), 'TEMPRANA') > 0 THEN 'TEMPRANA'
           WHEN strpos(upper(l.archivo), 'CF_ANN') > 0 THEN 'CUOTA_FRACCIONAMIENTO'
           WHEN upper(l.archivo) ~ '(^|[^A-Z0-9])AN([^A-Z0-9]|$)' THEN 'ALTAS_NUEVAS'
           ELSE 'OTRAS'
       END,
       to_char(m.fecha_apertura, 'YYYY-MM'),
       COALESCE(l.fecha_cierre, $1::date),
       md5(ROW(m.fecha_apertura, l.fecha_cierre, l.fecha_trandeuda, l.fecha_cierre_planificada, l.periodo_date,
               l.tipo_cartera, l.periodo_asignacion, l.rango_vencimiento, l.estado_cartera, l.periodo_mes,
               l.tipo_ciclo_campana, l.categoria_duracion, l.duracion_campana_dias_habiles, l.anno_asignacion,
               l.es_cartera_abierta)::text)
FROM (
    SELECT DISTINCT ON (archivo) *
    FROM raw.calendario
    ORDER BY archivo, periodo_date DESC, fecha_apertura DESC
) l
JOIN (
    SELECT archivo, min(fecha_apertura) AS fecha_apertura
    FROM raw.calendario
    GROUP BY archivo
) m ON m.archivo = l.archivo
