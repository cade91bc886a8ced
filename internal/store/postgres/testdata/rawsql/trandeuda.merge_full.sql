
		WITH 
		changed AS (
			SELECT s."cod_cuenta", s."nro_documento", s."archivo", s."motivo_rechazo", s."fecha_vencimiento", s."monto_exigible", s."creado_el", s."fecha_proceso", s.etl_source, (r."cod_cuenta" IS NULL) AS is_new,
			       NULL::text AS a, s."fecha_proceso"::text AS d, NULL::text AS n, NULL::text AS o_a, r."fecha_proceso"::text AS o_d, NULL::text AS o_n
			FROM pulso_stg s LEFT JOIN "raw"."trandeuda" r ON r."cod_cuenta" = s."cod_cuenta" AND r."nro_documento" = s."nro_documento" AND r."archivo" = s."archivo" AND r."fecha_proceso" = s."fecha_proceso"
			WHERE r."cod_cuenta" IS NULL OR (r."cod_cuenta", r."nro_documento", r."archivo", r."motivo_rechazo", r."fecha_vencimiento", r."monto_exigible", r."creado_el", r."fecha_proceso") IS DISTINCT FROM (s."cod_cuenta", s."nro_documento", s."archivo", s."motivo_rechazo", s."fecha_vencimiento", s."monto_exigible", s."creado_el", s."fecha_proceso")
		), up AS (
			INSERT INTO "raw"."trandeuda" ("cod_cuenta", "nro_documento", "archivo", "motivo_rechazo", "fecha_vencimiento", "monto_exigible", "creado_el", "fecha_proceso", etl_run_id, etl_source)
			SELECT "cod_cuenta", "nro_documento", "archivo", "motivo_rechazo", "fecha_vencimiento", "monto_exigible", "creado_el", "fecha_proceso", $1, etl_source FROM changed
			ON CONFLICT ("cod_cuenta", "nro_documento", "archivo", "fecha_proceso") DO UPDATE SET "motivo_rechazo" = EXCLUDED."motivo_rechazo", "fecha_vencimiento" = EXCLUDED."fecha_vencimiento", "monto_exigible" = EXCLUDED."monto_exigible", "creado_el" = EXCLUDED."creado_el", etl_run_id = EXCLUDED.etl_run_id, etl_source = EXCLUDED.etl_source, etl_loaded_at = now()
			RETURNING 1
		), del AS (
			DELETE FROM "raw"."trandeuda" r WHERE NOT EXISTS (SELECT 1 FROM pulso_stg s WHERE s."cod_cuenta" = r."cod_cuenta" AND s."nro_documento" = r."nro_documento" AND s."archivo" = r."archivo" AND s."fecha_proceso" = r."fecha_proceso")
			RETURNING 1
		)
		SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new), (SELECT count(*) FROM del) FROM changed
