
		WITH 
		changed AS (
			SELECT s."uid", s."campaign_id", s."campaign_name", s."document", s."management", s."sub_management", s."origin", s."n1", s."n2", s."n3", s."observacion", s."extra", s."project", s."client", s."nombre_agente", s."correo_agente", s."url", s."phone", s."date", s."fecha_compromiso", s."monto_compromiso", s."weight", s."duracion", s.etl_source, (r."uid" IS NULL) AS is_new,
			       NULL::text AS a, (s."date" AT TIME ZONE INTERVAL '-05:00')::date::text AS d, NULL::text AS n, NULL::text AS o_a, (r."date" AT TIME ZONE INTERVAL '-05:00')::date::text AS o_d, NULL::text AS o_n
			FROM pulso_stg s LEFT JOIN "raw"."mibotair_gestiones" r ON r."uid" = s."uid"
			WHERE r."uid" IS NULL OR (r."uid", r."campaign_id", r."campaign_name", r."document", r."management", r."sub_management", r."origin", r."n1", r."n2", r."n3", r."observacion", r."extra", r."project", r."client", r."nombre_agente", r."correo_agente", r."url", r."phone", r."date", r."fecha_compromiso", r."monto_compromiso", r."weight", r."duracion") IS DISTINCT FROM (s."uid", s."campaign_id", s."campaign_name", s."document", s."management", s."sub_management", s."origin", s."n1", s."n2", s."n3", s."observacion", s."extra", s."project", s."client", s."nombre_agente", s."correo_agente", s."url", s."phone", s."date", s."fecha_compromiso", s."monto_compromiso", s."weight", s."duracion")
		), up AS (
			INSERT INTO "raw"."mibotair_gestiones" ("uid", "campaign_id", "campaign_name", "document", "management", "sub_management", "origin", "n1", "n2", "n3", "observacion", "extra", "project", "client", "nombre_agente", "correo_agente", "url", "phone", "date", "fecha_compromiso", "monto_compromiso", "weight", "duracion", etl_run_id, etl_source)
			SELECT "uid", "campaign_id", "campaign_name", "document", "management", "sub_management", "origin", "n1", "n2", "n3", "observacion", "extra", "project", "client", "nombre_agente", "correo_agente", "url", "phone", "date", "fecha_compromiso", "monto_compromiso", "weight", "duracion", $1, etl_source FROM changed
			ON CONFLICT ("uid") DO UPDATE SET "campaign_id" = EXCLUDED."campaign_id", "campaign_name" = EXCLUDED."campaign_name", "document" = EXCLUDED."document", "management" = EXCLUDED."management", "sub_management" = EXCLUDED."sub_management", "origin" = EXCLUDED."origin", "n1" = EXCLUDED."n1", "n2" = EXCLUDED."n2", "n3" = EXCLUDED."n3", "observacion" = EXCLUDED."observacion", "extra" = EXCLUDED."extra", "project" = EXCLUDED."project", "client" = EXCLUDED."client", "nombre_agente" = EXCLUDED."nombre_agente", "correo_agente" = EXCLUDED."correo_agente", "url" = EXCLUDED."url", "phone" = EXCLUDED."phone", "date" = EXCLUDED."date", "fecha_compromiso" = EXCLUDED."fecha_compromiso", "monto_compromiso" = EXCLUDED."monto_compromiso", "weight" = EXCLUDED."weight", "duracion" = EXCLUDED."duracion", etl_run_id = EXCLUDED.etl_run_id, etl_source = EXCLUDED.etl_source, etl_loaded_at = now()
			RETURNING 1
		), del AS (
			DELETE FROM "raw"."mibotair_gestiones" r WHERE NOT EXISTS (SELECT 1 FROM pulso_stg s WHERE s."uid" = r."uid")
			RETURNING 1
		)
		SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new), (SELECT count(*) FROM del) FROM changed
