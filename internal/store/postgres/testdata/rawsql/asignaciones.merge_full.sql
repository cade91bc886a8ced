
		WITH 
		changed AS (
			SELECT s."cliente", s."cuenta", s."cod_luna", s."telefono", s."archivo", s."tramo_gestion", s."negocio", s."dias_sin_trafico", s."zona", s."campania_act", s."min_vto", s."decil_contacto", s."decil_pago", s."rango_renta", s."creado_el", s."fecha_asignacion", s.etl_source, (r."cod_luna" IS NULL) AS is_new,
			       s."archivo"::text AS a, s."fecha_asignacion"::text AS d, NULL::text AS n, r."archivo"::text AS o_a, r."fecha_asignacion"::text AS o_d, NULL::text AS o_n
			FROM pulso_stg s LEFT JOIN "raw"."asignaciones" r ON r."cod_luna" = s."cod_luna" AND r."cuenta" = s."cuenta" AND r."archivo" = s."archivo" AND r."fecha_asignacion" = s."fecha_asignacion"
			WHERE r."cod_luna" IS NULL OR (r."cliente", r."cuenta", r."cod_luna", r."telefono", r."archivo", r."tramo_gestion", r."negocio", r."dias_sin_trafico", r."zona", r."campania_act", r."min_vto", r."decil_contacto", r."decil_pago", r."rango_renta", r."creado_el", r."fecha_asignacion") IS DISTINCT FROM (s."cliente", s."cuenta", s."cod_luna", s."telefono", s."archivo", s."tramo_gestion", s."negocio", s."dias_sin_trafico", s."zona", s."campania_act", s."min_vto", s."decil_contacto", s."decil_pago", s."rango_renta", s."creado_el", s."fecha_asignacion")
		), up AS (
			INSERT INTO "raw"."asignaciones" ("cliente", "cuenta", "cod_luna", "telefono", "archivo", "tramo_gestion", "negocio", "dias_sin_trafico", "zona", "campania_act", "min_vto", "decil_contacto", "decil_pago", "rango_renta", "creado_el", "fecha_asignacion", etl_run_id, etl_source)
			SELECT "cliente", "cuenta", "cod_luna", "telefono", "archivo", "tramo_gestion", "negocio", "dias_sin_trafico", "zona", "campania_act", "min_vto", "decil_contacto", "decil_pago", "rango_renta", "creado_el", "fecha_asignacion", $1, etl_source FROM changed
			ON CONFLICT ("cod_luna", "cuenta", "archivo", "fecha_asignacion") DO UPDATE SET "cliente" = EXCLUDED."cliente", "telefono" = EXCLUDED."telefono", "tramo_gestion" = EXCLUDED."tramo_gestion", "negocio" = EXCLUDED."negocio", "dias_sin_trafico" = EXCLUDED."dias_sin_trafico", "zona" = EXCLUDED."zona", "campania_act" = EXCLUDED."campania_act", "min_vto" = EXCLUDED."min_vto", "decil_contacto" = EXCLUDED."decil_contacto", "decil_pago" = EXCLUDED."decil_pago", "rango_renta" = EXCLUDED."rango_renta", "creado_el" = EXCLUDED."creado_el", etl_run_id = EXCLUDED.etl_run_id, etl_source = EXCLUDED.etl_source, etl_loaded_at = now()
			RETURNING 1
		), del AS (
			DELETE FROM "raw"."asignaciones" r WHERE NOT EXISTS (SELECT 1 FROM pulso_stg s WHERE s."cod_luna" = r."cod_luna" AND s."cuenta" = r."cuenta" AND s."archivo" = r."archivo" AND s."fecha_asignacion" = r."fecha_asignacion")
			RETURNING 1
		)
		SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new), (SELECT count(*) FROM del) FROM changed
