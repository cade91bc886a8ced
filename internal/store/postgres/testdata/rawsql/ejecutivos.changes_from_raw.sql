
		INSERT INTO etl.pending_change (table_name, archivo, day, nro_documento, run_id)
		SELECT DISTINCT $2, a, d::date, n, $1::bigint FROM (SELECT NULL::text AS a, NULL::text AS d, NULL::text AS n FROM "raw"."ejecutivos" s WHERE s.etl_run_id = $1) x
