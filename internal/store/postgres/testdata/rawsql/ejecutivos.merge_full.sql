
		WITH 
		changed AS (
			SELECT s."correo_name", s."nombre", s."document", s."id_cliente", s.etl_source, (r."correo_name" IS NULL) AS is_new,
			       NULL::text AS a, NULL::text AS d, NULL::text AS n, NULL::text AS o_a, NULL::text AS o_d, NULL::text AS o_n
			FROM pulso_stg s LEFT JOIN "raw"."ejecutivos" r ON r."correo_name" = s."correo_name"
			WHERE r."correo_name" IS NULL OR (r."correo_name", r."nombre", r."document", r."id_cliente") IS DISTINCT FROM (s."correo_name", s."nombre", s."document", s."id_cliente")
		), up AS (
			INSERT INTO "raw"."ejecutivos" ("correo_name", "nombre", "document", "id_cliente", etl_run_id, etl_source)
			SELECT "correo_name", "nombre", "document", "id_cliente", $1, etl_source FROM changed
			ON CONFLICT ("correo_name") DO UPDATE SET "nombre" = EXCLUDED."nombre", "document" = EXCLUDED."document", "id_cliente" = EXCLUDED."id_cliente", etl_run_id = EXCLUDED.etl_run_id, etl_source = EXCLUDED.etl_source, etl_loaded_at = now()
			RETURNING 1
		), del AS (
			DELETE FROM "raw"."ejecutivos" r WHERE NOT EXISTS (SELECT 1 FROM pulso_stg s WHERE s."correo_name" = r."correo_name")
			RETURNING 1
		)
		SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new), (SELECT count(*) FROM del) FROM changed
