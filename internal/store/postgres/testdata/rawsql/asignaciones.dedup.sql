
		WITH ranked AS (
			SELECT s.ctid AS c, row_number() OVER w AS rn,
			       first_value(s.etl_source) OVER w AS kept_source, first_value(s.etl_line) OVER w AS kept_line
			FROM pulso_stg s
			WHERE (s."cod_luna", s."cuenta", s."archivo", s."fecha_asignacion") IN (SELECT s."cod_luna", s."cuenta", s."archivo", s."fecha_asignacion" FROM pulso_stg s GROUP BY s."cod_luna", s."cuenta", s."archivo", s."fecha_asignacion" HAVING count(*) > 1)
			WINDOW w AS (PARTITION BY s."cod_luna", s."cuenta", s."archivo", s."fecha_asignacion" ORDER BY s."creado_el" DESC, ROW(s."cliente", s."cuenta", s."cod_luna", s."telefono", s."archivo", s."tramo_gestion", s."negocio", s."dias_sin_trafico", s."zona", s."campania_act", s."min_vto", s."decil_contacto", s."decil_pago", s."rango_renta", s."creado_el", s."fecha_asignacion")::text COLLATE "C" DESC)
		), gone AS (
			DELETE FROM pulso_stg g USING ranked WHERE g.ctid = ranked.c AND ranked.rn > 1
			RETURNING g.*, ranked.kept_source, ranked.kept_line
		)
		INSERT INTO pulso_rej (source, line_no, column_name, reason, detail, record)
		SELECT g.etl_source, g.etl_line, NULL, 'duplicate_key',
		       'upsert key (cod_luna, cuenta, archivo, fecha_asignacion) repeats ' || g.kept_source || ':' || COALESCE(g.kept_line::text, '?') || ', which was kept',
		       jsonb_build_object('cliente', g."cliente"::text, 'cuenta', g."cuenta"::text, 'cod_luna', g."cod_luna"::text, 'telefono', g."telefono"::text, 'archivo', g."archivo"::text, 'tramo_gestion', g."tramo_gestion"::text, 'negocio', g."negocio"::text, 'dias_sin_trafico', g."dias_sin_trafico"::text, 'zona', g."zona"::text, 'campania_act', g."campania_act"::text, 'min_vto', g."min_vto"::text, 'decil_contacto', g."decil_contacto"::text, 'decil_pago', g."decil_pago"::text, 'rango_renta', g."rango_renta"::text, 'creado_el', g."creado_el"::text)
		FROM gone g
