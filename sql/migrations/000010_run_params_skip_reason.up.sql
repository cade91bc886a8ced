-- A skipped step's reason gets its own column (it was kept in error, and matched there).
ALTER TABLE etl.run_table ADD COLUMN skip_reason TEXT;
UPDATE etl.run_table SET skip_reason = COALESCE(error, 'nothing_changed'), error = NULL WHERE status = 'skipped';
ALTER TABLE etl.run_table ADD CONSTRAINT run_table_skip_reason_check
    CHECK ((status = 'skipped') = (skip_reason IS NOT NULL) AND skip_reason IN ('no_files', 'unchanged_files', 'nothing_changed'));

-- A run's typed parameters (what backfill --resume restores) and the run it resumes.
-- args stays the flags as typed, for people reading the ledger.
ALTER TABLE etl.run
    ADD COLUMN params    JSONB,
    ADD COLUMN resume_of BIGINT;

-- Backfills recorded before: their flags hold the same parameters.
UPDATE etl.run r
SET params = jsonb_strip_nulls(jsonb_build_object(
        'from', f.kv ->> '--from',
        'to', f.kv ->> '--to',
        'tables', CASE WHEN f.kv ? '--tables' THEN to_jsonb(string_to_array(f.kv ->> '--tables', ',')) END,
        'chunk_days', COALESCE((f.kv ->> '--chunk-days')::int, 7),
        'skip_transform', COALESCE((f.kv ->> '--skip-transform')::boolean, false),
        'as_of', r.as_of::text)),
    resume_of = (f.kv ->> '--resume')::bigint
FROM (SELECT run_id, jsonb_object_agg(split_part(a, '=', 1), substr(a, strpos(a, '=') + 1)) AS kv
      FROM etl.run, jsonb_array_elements_text(args) a
      WHERE command = 'backfill' AND a LIKE '--%=%'
      GROUP BY run_id) f
WHERE r.run_id = f.run_id;
UPDATE etl.run SET params = NULL WHERE command = 'backfill' AND resume_of IS NOT NULL;

CREATE INDEX run_resume_of_idx ON etl.run (resume_of) WHERE resume_of IS NOT NULL;
