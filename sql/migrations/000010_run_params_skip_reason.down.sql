DROP INDEX etl.run_resume_of_idx;
ALTER TABLE etl.run DROP COLUMN params, DROP COLUMN resume_of;
ALTER TABLE etl.run_table DROP CONSTRAINT run_table_skip_reason_check;
UPDATE etl.run_table SET error = skip_reason WHERE status = 'skipped';
ALTER TABLE etl.run_table DROP COLUMN skip_reason;
