
		WITH ranked AS (
			SELECT s.ctid AS c, row_number() OVER w AS rn,
			       first_value(s.etl_source) OVER w AS kept_source, first_value(s.etl_line) OVER w AS kept_line
			FROM pulso_stg s
			WHERE (s."correo_name") IN (SELECT s."correo_name" FROM pulso_stg s GROUP BY s."correo_name" HAVING count(*) > 1)
			WINDOW w AS (PARTITION BY s."correo_name" ORDER BY ROW(s."correo_name", s."nombre", s."document", s."id_cliente")::text COLLATE "C" DESC)
		), gone AS (
			DELETE FROM pulso_stg g USING ranked WHERE g.ctid = ranked.c AND ranked.rn > 1
			RETURNING g.*, ranked.kept_source, ranked.kept_line
		)
		INSERT INTO pulso_rej (source, line_no, column_name, reason, detail, record)
		SELECT g.etl_source, g.etl_line, NULL, 'duplicate_key',
		       'upsert key (correo_name) repeats ' || g.kept_source || ':' || COALESCE(g.kept_line::text, '?') || ', which was kept',
		       jsonb_build_object('correo_name', g."correo_name"::text, 'nombre', g."nombre"::text, 'document', g."document"::text, 'id_cliente', g."id_cliente"::text)
		FROM gone g
