
		WITH ranked AS (
			SELECT s.ctid AS c, row_number() OVER w AS rn,
			       first_value(s.etl_source) OVER w AS kept_source, first_value(s.etl_line) OVER w AS kept_line
			FROM pulso_stg s
			WHERE (s."bot_management", s."bot_sub_management", s."bot_compromiso") IN (SELECT s."bot_management", s."bot_sub_management", s."bot_compromiso" FROM pulso_stg s GROUP BY s."bot_management", s."bot_sub_management", s."bot_compromiso" HAVING count(*) > 1)
			WINDOW w AS (PARTITION BY s."bot_management", s."bot_sub_management", s."bot_compromiso" ORDER BY ROW(s."bot_management", s."bot_sub_management", s."bot_compromiso", s."n1_homologado", s."n2_homologado", s."n3_homologado", s."contactabilidad_homologada", s."es_pdp_homologado", s."peso_homologado")::text COLLATE "C" DESC)
		), gone AS (
			DELETE FROM pulso_stg g USING ranked WHERE g.ctid = ranked.c AND ranked.rn > 1
			RETURNING g.*, ranked.kept_source, ranked.kept_line
		)
		INSERT INTO pulso_rej (source, line_no, column_name, reason, detail, record)
		SELECT g.etl_source, g.etl_line, NULL, 'duplicate_key',
		       'upsert key (bot_management, bot_sub_management, bot_compromiso) repeats ' || g.kept_source || ':' || COALESCE(g.kept_line::text, '?') || ', which was kept',
		       jsonb_build_object('bot_management', g."bot_management"::text, 'bot_sub_management', g."bot_sub_management"::text, 'bot_compromiso', g."bot_compromiso"::text, 'n1_homologado', g."n1_homologado"::text, 'n2_homologado', g."n2_homologado"::text, 'n3_homologado', g."n3_homologado"::text, 'contactabilidad_homologada', g."contactabilidad_homologada"::text, 'es_pdp_homologado', g."es_pdp_homologado"::text, 'peso_homologado', g."peso_homologado"::text)
		FROM gone g
