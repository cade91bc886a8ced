-- etl: the pipeline's control tables (domain.md §3, §6). They live beside the data
-- so a run's bookkeeping commits in the same transaction as the rows it describes.
-- References to etl.run from the state tables (watermarks, landing files, pending
-- changes, data version) are deliberately not foreign keys: pruning old ledger rows
-- must never cascade into pipeline state.

CREATE SCHEMA etl;

CREATE TABLE etl.run (
    run_id      BIGINT GENERATED ALWAYS AS IDENTITY,
    command     TEXT        NOT NULL,
    args        JSONB       NOT NULL DEFAULT '[]',
    as_of       DATE,
    started_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ,
    status      TEXT        NOT NULL DEFAULT 'running',
    exit_code   INTEGER,
    error       TEXT,
    host        TEXT,
    pid         INTEGER,
    CONSTRAINT run_pkey PRIMARY KEY (run_id),
    CONSTRAINT run_status_check CHECK (status IN ('running', 'success', 'failed', 'skipped', 'cancelled', 'abandoned'))
);

-- The run that takes the lock marks leftover running rows abandoned; this keeps that
-- lookup independent of the ledger's size.
CREATE INDEX run_running_idx ON etl.run (run_id) WHERE status = 'running';

-- One row per step of a run: raw steps by logical table name ('pagos'), transform steps
-- by 'schema.table'; backfill adds one row per (table, chunk). rows_read =
-- rows_filtered + rows_rejected + rows_loaded holds for raw steps by construction of the
-- loader, not by a CHECK (transform steps use other counters).
CREATE TABLE etl.run_table (
    id             BIGINT GENERATED ALWAYS AS IDENTITY,
    run_id         BIGINT      NOT NULL,
    step           TEXT        NOT NULL,
    chunk_from     DATE,
    chunk_to       DATE,
    status         TEXT        NOT NULL DEFAULT 'running',
    window_from    TIMESTAMPTZ,
    window_to      TIMESTAMPTZ,
    day_from       DATE,
    day_to         DATE,
    archivos       TEXT[],
    rows_read      BIGINT      NOT NULL DEFAULT 0,
    rows_filtered  BIGINT      NOT NULL DEFAULT 0,
    rows_rejected  BIGINT      NOT NULL DEFAULT 0,
    rows_loaded    BIGINT      NOT NULL DEFAULT 0,
    rows_deleted   BIGINT      NOT NULL DEFAULT 0,
    rows_inserted  BIGINT      NOT NULL DEFAULT 0,
    rows_updated   BIGINT      NOT NULL DEFAULT 0,
    rows_unchanged BIGINT      NOT NULL DEFAULT 0,
    hwm_before     TIMESTAMPTZ,
    hwm_after      TIMESTAMPTZ,
    started_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at    TIMESTAMPTZ,
    error          TEXT,
    CONSTRAINT run_table_pkey PRIMARY KEY (id),
    CONSTRAINT run_table_run_fkey FOREIGN KEY (run_id) REFERENCES etl.run (run_id) ON DELETE CASCADE,
    CONSTRAINT run_table_status_check CHECK (status IN ('running', 'success', 'failed', 'skipped', 'cancelled', 'abandoned')),
    CONSTRAINT run_table_chunk_check CHECK ((chunk_from IS NULL) = (chunk_to IS NULL) AND chunk_from <= chunk_to),
    CONSTRAINT run_table_rows_check CHECK (
        rows_read >= 0 AND rows_filtered >= 0 AND rows_rejected >= 0 AND rows_loaded >= 0 AND
        rows_deleted >= 0 AND rows_inserted >= 0 AND rows_updated >= 0 AND rows_unchanged >= 0)
);

-- Per-run listing, `backfill --resume` (run, step, chunk) and the FK's cascade.
CREATE INDEX run_table_run_idx ON etl.run_table (run_id, step, chunk_from);
-- "Last successful load per table" for status and the freshness metric.
CREATE INDEX run_table_success_idx ON etl.run_table (step, finished_at) WHERE status = 'success';
CREATE INDEX run_table_running_idx ON etl.run_table (id) WHERE status = 'running';

-- Rejected rows, one partition per source table. dedup_key makes re-reading a lookback
-- window idempotent: the same (source, line or record, reason) is stored once.
-- No FK to etl.run: rejects are bulk-inserted on the hot path and pruned by age.
CREATE TABLE etl.reject (
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    run_id      BIGINT      NOT NULL,
    table_name  TEXT        NOT NULL,
    source      TEXT        NOT NULL,
    line_no     BIGINT,
    column_name TEXT,
    reason      TEXT        NOT NULL,
    detail      TEXT,
    record      JSONB       NOT NULL,
    record_hash TEXT GENERATED ALWAYS AS (md5(record::text)) STORED,
    dedup_key   TEXT GENERATED ALWAYS AS (COALESCE(line_no::text, md5(record::text))) STORED,
    rejected_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT reject_pkey PRIMARY KEY (table_name, id),
    CONSTRAINT reject_dedup_key UNIQUE (table_name, source, dedup_key, reason),
    CONSTRAINT reject_reason_check CHECK (reason IN (
        'invalid_value', 'missing_value', 'wrong_field_count', 'invalid_utf8', 'field_too_large',
        'duplicate_key', 'future_date', 'filtered_monto', 'filtered_motivo_rechazo', 'filtered_id_cliente'))
) PARTITION BY LIST (table_name);

CREATE TABLE etl.reject_calendario            PARTITION OF etl.reject FOR VALUES IN ('calendario');
CREATE TABLE etl.reject_asignaciones          PARTITION OF etl.reject FOR VALUES IN ('asignaciones');
CREATE TABLE etl.reject_trandeuda             PARTITION OF etl.reject FOR VALUES IN ('trandeuda');
CREATE TABLE etl.reject_pagos                 PARTITION OF etl.reject FOR VALUES IN ('pagos');
CREATE TABLE etl.reject_voicebot_gestiones    PARTITION OF etl.reject FOR VALUES IN ('voicebot_gestiones');
CREATE TABLE etl.reject_mibotair_gestiones    PARTITION OF etl.reject FOR VALUES IN ('mibotair_gestiones');
CREATE TABLE etl.reject_homologacion_mibotair PARTITION OF etl.reject FOR VALUES IN ('homologacion_mibotair');
CREATE TABLE etl.reject_homologacion_voicebot PARTITION OF etl.reject FOR VALUES IN ('homologacion_voicebot');
CREATE TABLE etl.reject_ejecutivos            PARTITION OF etl.reject FOR VALUES IN ('ejecutivos');

-- `pulso rejects --run ID`.
CREATE INDEX reject_run_idx ON etl.reject (run_id);

-- Files a dir-source load committed: an unchanged file (same size and sha256) is not
-- read again unless --full.
CREATE TABLE etl.landing_file (
    table_name    TEXT        NOT NULL,
    path          TEXT        NOT NULL,
    size          BIGINT      NOT NULL,
    sha256        TEXT        NOT NULL,
    loaded_run_id BIGINT,
    loaded_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT landing_file_pkey PRIMARY KEY (table_name, path),
    CONSTRAINT landing_file_size_check CHECK (size >= 0),
    CONSTRAINT landing_file_sha256_check CHECK (sha256 ~ '^[0-9a-f]{64}$')
);

-- What each raw merge inserted or changed, consumed by the transform in its own
-- transaction (domain.md §6), so a failed or skipped transform loses nothing.
CREATE TABLE etl.pending_change (
    id              BIGINT GENERATED ALWAYS AS IDENTITY,
    table_name      TEXT        NOT NULL,
    archivo         TEXT,
    day             DATE,
    nro_documento   TEXT,
    run_id          BIGINT      NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    consumed_run_id BIGINT,
    consumed_at     TIMESTAMPTZ,
    CONSTRAINT pending_change_pkey PRIMARY KEY (id),
    CONSTRAINT pending_change_consumed_check CHECK ((consumed_run_id IS NULL) = (consumed_at IS NULL))
);

-- The transform reads only unconsumed rows; consumed ones wait for prune.
CREATE INDEX pending_change_unconsumed_idx ON etl.pending_change (table_name, id) WHERE consumed_run_id IS NULL;

-- High-water marks of the five incremental tables.
CREATE TABLE etl.watermark (
    table_name      TEXT        NOT NULL,
    high_water_mark TIMESTAMPTZ,
    last_run_id     BIGINT,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT watermark_pkey PRIMARY KEY (table_name),
    CONSTRAINT watermark_table_name_check CHECK (table_name IN (
        'asignaciones', 'trandeuda', 'pagos', 'voicebot_gestiones', 'mibotair_gestiones'))
);

-- The marts' version, bumped (with NOTIFY pulso_data_version) in the transaction that
-- replaces mart rows; API caches and ETags key on it. Exactly one row.
CREATE TABLE etl.data_version (
    id         BOOLEAN     NOT NULL DEFAULT true,
    version    BIGINT      NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    run_id     BIGINT,
    reason     TEXT,
    CONSTRAINT data_version_pkey PRIMARY KEY (id),
    CONSTRAINT data_version_single_row CHECK (id),
    CONSTRAINT data_version_version_check CHECK (version >= 0)
);

INSERT INTO etl.data_version (id, version, reason) VALUES (true, 0, 'initial');

-- Last built day and attribute hash per campaign, so the transform knows which new
-- days to build and which campaigns changed.
CREATE TABLE etl.campaign_build (
    archivo        TEXT        NOT NULL,
    last_built_day DATE        NOT NULL,
    attr_hash      TEXT        NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT campaign_build_pkey PRIMARY KEY (archivo)
);
