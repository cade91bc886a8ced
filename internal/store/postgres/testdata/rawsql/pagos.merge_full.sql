
		WITH 
		changed AS (
			SELECT s."cod_sistema", s."nro_documento", s."archivo", s."motivo_rechazo", s."monto_cancelado", s."fecha_pago", s."creado_el", s.etl_source, (r."nro_documento" IS NULL) AS is_new,
			       NULL::text AS a, s."fecha_pago"::text AS d, s."nro_documento"::text AS n, NULL::text AS o_a, r."fecha_pago"::text AS o_d, r."nro_documento"::text AS o_n
			FROM pulso_stg s LEFT JOIN "raw"."pagos" r ON r."nro_documento" = s."nro_documento" AND r."fecha_pago" = s."fecha_pago" AND r."monto_cancelado" = s."monto_cancelado" AND r."archivo" = s."archivo"
			WHERE r."nro_documento" IS NULL OR (r."cod_sistema", r."nro_documento", r."archivo", r."motivo_rechazo", r."monto_cancelado", r."fecha_pago", r."creado_el") IS DISTINCT FROM (s."cod_sistema", s."nro_documento", s."archivo", s."motivo_rechazo", s."monto_cancelado", s."fecha_pago", s."creado_el")
		), up AS (
			INSERT INTO "raw"."pagos" ("cod_sistema", "nro_documento", "archivo", "motivo_rechazo", "monto_cancelado", "fecha_pago", "creado_el", etl_run_id, etl_source)
			SELECT "cod_sistema", "nro_documento", "archivo", "motivo_rechazo", "monto_cancelado", "fecha_pago", "creado_el", $1, etl_source FROM changed
			ON CONFLICT ("nro_documento", "fecha_pago", "monto_cancelado", "archivo") DO UPDATE SET "cod_sistema" = EXCLUDED."cod_sistema", "motivo_rechazo" = EXCLUDED."motivo_rechazo", "creado_el" = EXCLUDED."creado_el", etl_run_id = EXCLUDED.etl_run_id, etl_source = EXCLUDED.etl_source, etl_loaded_at = now()
			RETURNING 1
		), del AS (
			DELETE FROM "raw"."pagos" r WHERE NOT EXISTS (SELECT 1 FROM pulso_stg s WHERE s."nro_documento" = r."nro_documento" AND s."fecha_pago" = r."fecha_pago" AND s."monto_cancelado" = r."monto_cancelado" AND s."archivo" = r."archivo")
			RETURNING 1
		)
		SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new), (SELECT count(*) FROM del) FROM changed
