
		WITH ranked AS (
			SELECT s.ctid AS c, row_number() OVER w AS rn,
			       first_value(s.etl_source) OVER w AS kept_source, first_value(s.etl_line) OVER w AS kept_line
			FROM pulso_stg s
			WHERE (s."cod_cuenta", s."nro_documento", s."archivo", s."fecha_proceso") IN (SELECT s."cod_cuenta", s."nro_documento", s."archivo", s."fecha_proceso" FROM pulso_stg s GROUP BY s."cod_cuenta", s."nro_documento", s."archivo", s."fecha_proceso" HAVING count(*) > 1)
			WINDOW w AS (PARTITION BY s."cod_cuenta", s."nro_documento", s."archivo", s."fecha_proceso" ORDER BY s."creado_el" DESC, ROW(s."cod_cuenta", s."nro_documento", s."archivo", s."motivo_rechazo", s."fecha_vencimiento", s."monto_exigible", s."creado_el", s."fecha_proceso")::text COLLATE "C" DESC)
		), gone AS (
			DELETE FROM pulso_stg g USING ranked WHERE g.ctid = ranked.c AND ranked.rn > 1
			RETURNING g.*, ranked.kept_source, ranked.kept_line
		)
		INSERT INTO pulso_rej (source, line_no, column_name, reason, detail, record)
		SELECT g.etl_source, g.etl_line, NULL, 'duplicate_key',
		       'upsert key (cod_cuenta, nro_documento, archivo, fecha_proceso) repeats ' || g.kept_source || ':' || COALESCE(g.kept_line::text, '?') || ', which was kept',
		       jsonb_build_object('cod_cuenta', g."cod_cuenta"::text, 'nro_documento', g."nro_documento"::text, 'archivo', g."archivo"::text, 'motivo_rechazo', g."motivo_rechazo"::text, 'fecha_vencimiento', g."fecha_vencimiento"::text, 'monto_exigible', g."monto_exigible"::text, 'creado_el', g."creado_el"::text)
		FROM gone g
