
		WITH 
		changed AS (
			SELECT s."archivo", s."tipo_cartera", s."periodo_asignacion", s."rango_vencimiento", s."estado_cartera", s."periodo_mes", s."tipo_ciclo_campana", s."categoria_duracion", s."fecha_apertura", s."fecha_trandeuda", s."fecha_cierre", s."fecha_cierre_planificada", s."periodo_date", s."duracion_campana_dias_habiles", s."anno_asignacion", s."es_cartera_abierta", s.etl_source, (r."archivo" IS NULL) AS is_new,
			       NULL::text AS a, NULL::text AS d, NULL::text AS n, NULL::text AS o_a, NULL::text AS o_d, NULL::text AS o_n
			FROM pulso_stg s LEFT JOIN "raw"."calendario" r ON r."archivo" = s."archivo" AND r."periodo_date" = s."periodo_date"
			WHERE r."archivo" IS NULL OR (r."archivo", r."tipo_cartera", r."periodo_asignacion", r."rango_vencimiento", r."estado_cartera", r."periodo_mes", r."tipo_ciclo_campana", r."categoria_duracion", r."fecha_apertura", r."fecha_trandeuda", r."fecha_cierre", r."fecha_cierre_planificada", r."periodo_date", r."duracion_campana_dias_habiles", r."anno_asignacion", r."es_cartera_abierta") IS DISTINCT FROM (s."archivo", s."tipo_cartera", s."periodo_asignacion", s."rango_vencimiento", s."estado_cartera", s."periodo_mes", s."tipo_ciclo_campana", s."categoria_duracion", s."fecha_apertura", s."fecha_trandeuda", s."fecha_cierre", s."fecha_cierre_planificada", s."periodo_date", s."duracion_campana_dias_habiles", s."anno_asignacion", s."es_cartera_abierta")
		), up AS (
			INSERT INTO "raw"."calendario" ("archivo", "tipo_cartera", "periodo_asignacion", "rango_vencimiento", "estado_cartera", "periodo_mes", "tipo_ciclo_campana", "categoria_duracion", "fecha_apertura", "fecha_trandeuda", "fecha_cierre", "fecha_cierre_planificada", "periodo_date", "duracion_campana_dias_habiles", "anno_asignacion", "es_cartera_abierta", etl_run_id, etl_source)
			SELECT "archivo", "tipo_cartera", "periodo_asignacion", "rango_vencimiento", "estado_cartera", "periodo_mes", "tipo_ciclo_campana", "categoria_duracion", "fecha_apertura", "fecha_trandeuda", "fecha_cierre", "fecha_cierre_planificada", "periodo_date", "duracion_campana_dias_habiles", "anno_asignacion", "es_cartera_abierta", $1, etl_source FROM changed
			ON CONFLICT ("archivo", "periodo_date") DO UPDATE SET "tipo_cartera" = EXCLUDED."tipo_cartera", "periodo_asignacion" = EXCLUDED."periodo_asignacion", "rango_vencimiento" = EXCLUDED."rango_vencimiento", "estado_cartera" = EXCLUDED."estado_cartera", "periodo_mes" = EXCLUDED."periodo_mes", "tipo_ciclo_campana" = EXCLUDED."tipo_ciclo_campana", "categoria_duracion" = EXCLUDED."categoria_duracion", "fecha_apertura" = EXCLUDED."fecha_apertura", "fecha_trandeuda" = EXCLUDED."fecha_trandeuda", "fecha_cierre" = EXCLUDED."fecha_cierre", "fecha_cierre_planificada" = EXCLUDED."fecha_cierre_planificada", "duracion_campana_dias_habiles" = EXCLUDED."duracion_campana_dias_habiles", "anno_asignacion" = EXCLUDED."anno_asignacion", "es_cartera_abierta" = EXCLUDED."es_cartera_abierta", etl_run_id = EXCLUDED.etl_run_id, etl_source = EXCLUDED.etl_source, etl_loaded_at = now()
			RETURNING 1
		), pc AS (
			INSERT INTO etl.pending_change (table_name, archivo, day, nro_documento, run_id)
			SELECT DISTINCT $2, x.a, x.d::date, x.n, $1::bigint FROM (
				SELECT a, d, n FROM changed
				UNION SELECT o_a, o_d, o_n FROM changed WHERE NOT is_new) x
			RETURNING 1
		)
		SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new) FROM changed
