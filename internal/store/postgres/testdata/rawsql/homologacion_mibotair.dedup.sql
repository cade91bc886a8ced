
		WITH ranked AS (
			SELECT s.ctid AS c, row_number() OVER w AS rn,
			       first_value(s.etl_source) OVER w AS kept_source, first_value(s.etl_line) OVER w AS kept_line
			FROM pulso_stg s
			WHERE (s."n_1", s."n_2", s."n_3") IN (SELECT s."n_1", s."n_2", s."n_3" FROM pulso_stg s GROUP BY s."n_1", s."n_2", s."n_3" HAVING count(*) > 1)
			WINDOW w AS (PARTITION BY s."n_1", s."n_2", s."n_3" ORDER BY ROW(s."management", s."n_1", s."n_2", s."n_3", s."contactabilidad", s."tipo_gestion", s."codigo_rpta", s."pdp", s."gestor", s."peso", s."es_pdp")::text COLLATE "C" DESC)
		), gone AS (
			DELETE FROM pulso_stg g USING ranked WHERE g.ctid = ranked.c AND ranked.rn > 1
			RETURNING g.*, ranked.kept_source, ranked.kept_line
		)
		INSERT INTO pulso_rej (source, line_no, column_name, reason, detail, record)
		SELECT g.etl_source, g.etl_line, NULL, 'duplicate_key',
		       'upsert key (n_1, n_2, n_3) repeats ' || g.kept_source || ':' || COALESCE(g.kept_line::text, '?') || ', which was kept',
		       jsonb_build_object('management', g."management"::text, 'n_1', g."n_1"::text, 'n_2', g."n_2"::text, 'n_3', g."n_3"::text, 'contactabilidad', g."contactabilidad"::text, 'tipo_gestion', g."tipo_gestion"::text, 'codigo_rpta', g."codigo_rpta"::text, 'pdp', g."pdp"::text, 'gestor', g."gestor"::text, 'peso', g."peso"::text)
		FROM gone g
