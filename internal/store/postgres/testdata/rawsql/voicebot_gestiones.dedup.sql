
		WITH ranked AS (
			SELECT s.ctid AS c, row_number() OVER w AS rn,
			       first_value(s.etl_source) OVER w AS kept_source, first_value(s.etl_line) OVER w AS kept_line
			FROM pulso_stg s
			WHERE (s."uid") IN (SELECT s."uid" FROM pulso_stg s GROUP BY s."uid" HAVING count(*) > 1)
			WINDOW w AS (PARTITION BY s."uid" ORDER BY s."date" DESC, ROW(s."uid", s."campaign_id", s."campaign_name", s."document", s."management", s."sub_management", s."compromiso", s."origin", s."observacion", s."project", s."client", s."id_telephony", s."url_record_bot", s."phone", s."date", s."fecha_compromiso", s."weight", s."duracion")::text COLLATE "C" DESC)
		), gone AS (
			DELETE FROM pulso_stg g USING ranked WHERE g.ctid = ranked.c AND ranked.rn > 1
			RETURNING g.*, ranked.kept_source, ranked.kept_line
		)
		INSERT INTO pulso_rej (source, line_no, column_name, reason, detail, record)
		SELECT g.etl_source, g.etl_line, NULL, 'duplicate_key',
		       'upsert key (uid) repeats ' || g.kept_source || ':' || COALESCE(g.kept_line::text, '?') || ', which was kept',
		       jsonb_build_object('uid', g."uid"::text, 'campaign_id', g."campaign_id"::text, 'campaign_name', g."campaign_name"::text, 'document', g."document"::text, 'management', g."management"::text, 'sub_management', g."sub_management"::text, 'compromiso', g."compromiso"::text, 'origin', g."origin"::text, 'observacion', g."observacion"::text, 'project', g."project"::text, 'client', g."client"::text, 'id_telephony', g."id_telephony"::text, 'url_record_bot', g."url_record_bot"::text, 'phone', g."phone"::text, 'date', g."date"::text, 'fecha_compromiso', g."fecha_compromiso"::text, 'weight', g."weight"::text, 'duracion', g."duracion"::text)
		FROM gone g
