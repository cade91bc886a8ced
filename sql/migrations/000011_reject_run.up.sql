-- Every run that met a reject. A reject read again (an unchanged file re-read, a
-- backfill over loaded days) is stored once, under the run that first stored it, but
-- belongs to each run that read it: `pulso rejects --run N` lists what run N saw.
CREATE TABLE etl.reject_run (
    run_id     BIGINT NOT NULL,
    table_name TEXT   NOT NULL,
    reject_id  BIGINT NOT NULL,
    CONSTRAINT reject_run_pkey PRIMARY KEY (run_id, table_name, reject_id),
    CONSTRAINT reject_run_run_fkey FOREIGN KEY (run_id) REFERENCES etl.run (run_id) ON DELETE CASCADE,
    CONSTRAINT reject_run_reject_fkey FOREIGN KEY (table_name, reject_id)
        REFERENCES etl.reject (table_name, id) ON DELETE CASCADE
);
CREATE INDEX reject_run_reject_idx ON etl.reject_run (table_name, reject_id);

INSERT INTO etl.reject_run (run_id, table_name, reject_id)
SELECT j.run_id, j.table_name, j.id FROM etl.reject j JOIN etl.run r USING (run_id);
