
		WITH ranked AS (
			SELECT s.ctid AS c, row_number() OVER w AS rn,
			       first_value(s.etl_source) OVER w AS kept_source, first_value(s.etl_line) OVER w AS kept_line
			FROM pulso_stg s
			WHERE (s."nro_documento", s."fecha_pago", s."monto_cancelado", s."archivo") IN (SELECT s."nro_documento", s."fecha_pago", s."monto_cancelado", s."archivo" FROM pulso_stg s GROUP BY s."nro_documento", s."fecha_pago", s."monto_cancelado", s."archivo" HAVING count(*) > 1)
			WINDOW w AS (PARTITION BY s."nro_documento", s."fecha_pago", s."monto_cancelado", s."archivo" ORDER BY s."creado_el" DESC, ROW(s."cod_sistema", s."nro_documento", s."archivo", s."motivo_rechazo", s."monto_cancelado", s."fecha_pago", s."creado_el")::text COLLATE "C" DESC)
		), gone AS (
			DELETE FROM pulso_stg g USING ranked WHERE g.ctid = ranked.c AND ranked.rn > 1
			RETURNING g.*, ranked.kept_source, ranked.kept_line
		)
		INSERT INTO pulso_rej (source, line_no, column_name, reason, detail, record)
		SELECT g.etl_source, g.etl_line, NULL, 'duplicate_key',
		       'upsert key (nro_documento, fecha_pago, monto_cancelado, archivo) repeats ' || g.kept_source || ':' || COALESCE(g.kept_line::text, '?') || ', which was kept',
		       jsonb_build_object('cod_sistema', g."cod_sistema"::text, 'nro_documento', g."nro_documento"::text, 'archivo', g."archivo"::text, 'motivo_rechazo', g."motivo_rechazo"::text, 'monto_cancelado', g."monto_cancelado"::text, 'fecha_pago', g."fecha_pago"::text, 'creado_el', g."creado_el"::text)
		FROM gone g
