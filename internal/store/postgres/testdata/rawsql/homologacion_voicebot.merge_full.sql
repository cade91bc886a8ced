
		WITH 
		changed AS (
			SELECT s."bot_management", s."bot_sub_management", s."bot_compromiso", s."n1_homologado", s."n2_homologado", s."n3_homologado", s."contactabilidad_homologada", s."es_pdp_homologado", s."peso_homologado", s.etl_source, (r."bot_management" IS NULL) AS is_new,
			       NULL::text AS a, NULL::text AS d, NULL::text AS n, NULL::text AS o_a, NULL::text AS o_d, NULL::text AS o_n
			FROM pulso_stg s LEFT JOIN "raw"."homologacion_voicebot" r ON r."bot_management" = s."bot_management" AND r."bot_sub_management" = s."bot_sub_management" AND r."bot_compromiso" = s."bot_compromiso"
			WHERE r."bot_management" IS NULL OR (r."bot_management", r."bot_sub_management", r."bot_compromiso", r."n1_homologado", r."n2_homologado", r."n3_homologado", r."contactabilidad_homologada", r."es_pdp_homologado", r."peso_homologado") IS DISTINCT FROM (s."bot_management", s."bot_sub_management", s."bot_compromiso", s."n1_homologado", s."n2_homologado", s."n3_homologado", s."contactabilidad_homologada", s."es_pdp_homologado", s."peso_homologado")
		), up AS (
			INSERT INTO "raw"."homologacion_voicebot" ("bot_management", "bot_sub_management", "bot_compromiso", "n1_homologado", "n2_homologado", "n3_homologado", "contactabilidad_homologada", "es_pdp_homologado", "peso_homologado", etl_run_id, etl_source)
			SELECT "bot_management", "bot_sub_management", "bot_compromiso", "n1_homologado", "n2_homologado", "n3_homologado", "contactabilidad_homologada", "es_pdp_homologado", "peso_homologado", $1, etl_source FROM changed
			ON CONFLICT ("bot_management", "bot_sub_management", "bot_compromiso") DO UPDATE SET "n1_homologado" = EXCLUDED."n1_homologado", "n2_homologado" = EXCLUDED."n2_homologado", "n3_homologado" = EXCLUDED."n3_homologado", "contactabilidad_homologada" = EXCLUDED."contactabilidad_homologada", "es_pdp_homologado" = EXCLUDED."es_pdp_homologado", "peso_homologado" = EXCLUDED."peso_homologado", etl_run_id = EXCLUDED.etl_run_id, etl_source = EXCLUDED.etl_source, etl_loaded_at = now()
			RETURNING 1
		), del AS (
			DELETE FROM "raw"."homologacion_voicebot" r WHERE NOT EXISTS (SELECT 1 FROM pulso_stg s WHERE s."bot_management" = r."bot_management" AND s."bot_sub_management" = r."bot_sub_management" AND s."bot_compromiso" = r."bot_compromiso")
			RETURNING 1
		)
		SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new), (SELECT count(*) FROM del) FROM changed
