
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
		), pc AS (
			INSERT INTO etl.pending_change (table_name, archivo, day, nro_documento, run_id)
			SELECT DISTINCT $2, x.a, x.d::date, x.n, $1::bigint FROM (
				SELECT a, d, n FROM changed
				UNION SELECT o_a, o_d, o_n FROM changed WHERE NOT is_new) x
			RETURNING 1
		)
		SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new) FROM changed
