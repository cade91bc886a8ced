
		WITH ranked AS (
			SELECT s.ctid AS c, row_number() OVER w AS rn,
			       first_value(s.etl_source) OVER w AS kept_source, first_value(s.etl_line) OVER w AS kept_line
			FROM pulso_stg s
			WHERE (s."archivo", s."periodo_date") IN (SELECT s."archivo", s."periodo_date" FROM pulso_stg s GROUP BY s."archivo", s."periodo_date" HAVING count(*) > 1)
			WINDOW w AS (PARTITION BY s."archivo", s."periodo_date" ORDER BY ROW(s."archivo", s."tipo_cartera", s."periodo_asignacion", s."rango_vencimiento", s."estado_cartera", s."periodo_mes", s."tipo_ciclo_campana", s."categoria_duracion", s."fecha_apertura", s."fecha_trandeuda", s."fecha_cierre", s."fecha_cierre_planificada", s."periodo_date", s."duracion_campana_dias_habiles", s."anno_asignacion", s."es_cartera_abierta")::text COLLATE "C" DESC)
		), gone AS (
			DELETE FROM pulso_stg g USING ranked WHERE g.ctid = ranked.c AND ranked.rn > 1
			RETURNING g.*, ranked.kept_source, ranked.kept_line
		)
		INSERT INTO pulso_rej (source, line_no, column_name, reason, detail, record)
		SELECT g.etl_source, g.etl_line, NULL, 'duplicate_key',
		       'upsert key (archivo, periodo_date) repeats ' || g.kept_source || ':' || COALESCE(g.kept_line::text, '?') || ', which was kept',
		       jsonb_build_object('archivo', g."archivo"::text, 'tipo_cartera', g."tipo_cartera"::text, 'periodo_asignacion', g."periodo_asignacion"::text, 'rango_vencimiento', g."rango_vencimiento"::text, 'estado_cartera', g."estado_cartera"::text, 'periodo_mes', g."periodo_mes"::text, 'tipo_ciclo_campana', g."tipo_ciclo_campana"::text, 'categoria_duracion', g."categoria_duracion"::text, 'fecha_apertura', g."fecha_apertura"::text, 'fecha_trandeuda', g."fecha_trandeuda"::text, 'fecha_cierre', g."fecha_cierre"::text, 'fecha_cierre_planificada', g."fecha_cierre_planificada"::text, 'periodo_date', g."periodo_date"::text, 'duracion_campana_dias_habiles', g."duracion_campana_dias_habiles"::text, 'anno_asignacion', g."anno_asignacion"::text, 'es_cartera_abierta', g."es_cartera_abierta"::text)
		FROM gone g
