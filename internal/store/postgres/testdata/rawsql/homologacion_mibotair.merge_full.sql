
		WITH 
		changed AS (
			SELECT s."management", s."n_1", s."n_2", s."n_3", s."contactabilidad", s."tipo_gestion", s."codigo_rpta", s."pdp", s."gestor", s."peso", s."es_pdp", s.etl_source, (r."n_1" IS NULL) AS is_new,
			       NULL::text AS a, NULL::text AS d, NULL::text AS n, NULL::text AS o_a, NULL::text AS o_d, NULL::text AS o_n
			FROM pulso_stg s LEFT JOIN "raw"."homologacion_mibotair" r ON r."n_1" = s."n_1" AND r."n_2" = s."n_2" AND r."n_3" = s."n_3"
			WHERE r."n_1" IS NULL OR (r."management", r."n_1", r."n_2", r."n_3", r."contactabilidad", r."tipo_gestion", r."codigo_rpta", r."pdp", r."gestor", r."peso", r."es_pdp") IS DISTINCT FROM (s."management", s."n_1", s."n_2", s."n_3", s."contactabilidad", s."tipo_gestion", s."codigo_rpta", s."pdp", s."gestor", s."peso", s."es_pdp")
		), up AS (
			INSERT INTO "raw"."homologacion_mibotair" ("management", "n_1", "n_2", "n_3", "contactabilidad", "tipo_gestion", "codigo_rpta", "pdp", "gestor", "peso", "es_pdp", etl_run_id, etl_source)
			SELECT "management", "n_1", "n_2", "n_3", "contactabilidad", "tipo_gestion", "codigo_rpta", "pdp", "gestor", "peso", "es_pdp", $1, etl_source FROM changed
			ON CONFLICT ("n_1", "n_2", "n_3") DO UPDATE SET "management" = EXCLUDED."management", "contactabilidad" = EXCLUDED."contactabilidad", "tipo_gestion" = EXCLUDED."tipo_gestion", "codigo_rpta" = EXCLUDED."codigo_rpta", "pdp" = EXCLUDED."pdp", "gestor" = EXCLUDED."gestor", "peso" = EXCLUDED."peso", "es_pdp" = EXCLUDED."es_pdp", etl_run_id = EXCLUDED.etl_run_id, etl_source = EXCLUDED.etl_source, etl_loaded_at = now()
			RETURNING 1
		), del AS (
			DELETE FROM "raw"."homologacion_mibotair" r WHERE NOT EXISTS (SELECT 1 FROM pulso_stg s WHERE s."n_1" = r."n_1" AND s."n_2" = r."n_2" AND s."n_3" = r."n_3")
			RETURNING 1
		)
		SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new), (SELECT count(*) FROM del) FROM changed
