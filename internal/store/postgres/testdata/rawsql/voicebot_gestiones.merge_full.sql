
		WITH 
		changed AS (
			SELECT s."uid", s."campaign_id", s."campaign_name", s."document", s."management", s."sub_management", s."compromiso", s."origin", s."observacion", s."project", s."client", s."id_telephony", s."url_record_bot", s."phone", s."date", s."fecha_compromiso", s."weight", s."duracion", s.etl_source, (r."uid" IS NULL) AS is_new,
			       NULL::text AS a, (s."date" AT TIME ZONE INTERVAL '-05:00')::date::text AS d, NULL::text AS n, NULL::text AS o_a, (r."date" AT TIME ZONE INTERVAL '-05:00')::date::text AS o_d, NULL::text AS o_n
			FROM pulso_stg s LEFT JOIN "raw"."voicebot_gestiones" r ON r."uid" = s."uid"
			WHERE r."uid" IS NULL OR (r."uid", r."campaign_id", r."campaign_name", r."document", r."management", r."sub_management", r."compromiso", r."origin", r."observacion", r."project", r."client", r."id_telephony", r."url_record_bot", r."phone", r."date", r."fecha_compromiso", r."weight", r."duracion") IS DISTINCT FROM (s."uid", s."campaign_id", s."campaign_name", s."document", s."management", s."sub_management", s."compromiso", s."origin", s."observacion", s."project", s."client", s."id_telephony", s."url_record_bot", s."phone", s."date", s."fecha_compromiso", s."weight", s."duracion")
		), up AS (
			INSERT INTO "raw"."voicebot_gestiones" ("uid", "campaign_id", "campaign_name", "document", "management", "sub_management", "compromiso", "origin", "observacion", "project", "client", "id_telephony", "url_record_bot", "phone", "date", "fecha_compromiso", "weight", "duracion", etl_run_id, etl_source)
			SELECT "uid", "campaign_id", "campaign_name", "document", "management", "sub_management", "compromiso", "origin", "observacion", "project", "client", "id_telephony", "url_record_bot", "phone", "date", "fecha_compromiso", "weight", "duracion", $1, etl_source FROM changed
			ON CONFLICT ("uid") DO UPDATE SET "campaign_id" = EXCLUDED."campaign_id", "campaign_name" = EXCLUDED."campaign_name", "document" = EXCLUDED."document", "management" = EXCLUDED."management", "sub_management" = EXCLUDED."sub_management", "compromiso" = EXCLUDED."compromiso", "origin" = EXCLUDED."origin", "observacion" = EXCLUDED."observacion", "project" = EXCLUDED."project", "client" = EXCLUDED."client", "id_telephony" = EXCLUDED."id_telephony", "url_record_bot" = EXCLUDED."url_record_bot", "phone" = EXCLUDED."phone", "date" = EXCLUDED."date", "fecha_compromiso" = EXCLUDED."fecha_compromiso", "weight" = EXCLUDED."weight", "duracion" = EXCLUDED."duracion", etl_run_id = EXCLUDED.etl_run_id, etl_source = EXCLUDED.etl_source, etl_loaded_at = now()
			RETURNING 1
		), del AS (
			DELETE FROM "raw"."voicebot_gestiones" r WHERE NOT EXISTS (SELECT 1 FROM pulso_stg s WHERE s."uid" = r."uid")
			RETURNING 1
		)
		SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new), (SELECT count(*) FROM del) FROM changed
