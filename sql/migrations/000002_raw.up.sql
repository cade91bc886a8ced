-- raw: one table per logical source table (domain.md §1), columns in landing-file
-- order, then the derived columns, then the technical etl_* columns (ignored by change
-- detection). The primary key is the upsert key and is always named <table>_pkey: the
-- loader may drop and re-add it by that name around a bulk COPY into an empty table.
-- Secondary indexes are few on purpose: each one slows the load. Date indexes on the
-- append-mostly gestiones and trandeuda tables are BRIN, which costs next to nothing
-- to maintain and still narrows a one-day transform slice.

CREATE SCHEMA raw;

CREATE TABLE raw.calendario (
    archivo                       TEXT        NOT NULL,
    tipo_cartera                  TEXT,
    periodo_asignacion            TEXT,
    rango_vencimiento             TEXT,
    estado_cartera                TEXT,
    periodo_mes                   TEXT,
    tipo_ciclo_campana            TEXT,
    categoria_duracion            TEXT,
    fecha_apertura                DATE        NOT NULL,
    fecha_trandeuda               DATE,
    fecha_cierre                  DATE,
    fecha_cierre_planificada      DATE,
    periodo_date                  DATE        NOT NULL,
    duracion_campana_dias_habiles INTEGER,
    anno_asignacion               INTEGER,
    es_cartera_abierta            BOOLEAN,
    etl_run_id                    BIGINT,
    etl_source                    TEXT,
    etl_loaded_at                 TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT calendario_pkey PRIMARY KEY (archivo, periodo_date),
    -- The loader rejects these rows as invalid_value; the check is the last line.
    CONSTRAINT calendario_cierre_check CHECK (fecha_cierre >= fecha_apertura)
);

CREATE TABLE raw.asignaciones (
    cliente          TEXT,
    cuenta           TEXT        NOT NULL,
    cod_luna         TEXT        NOT NULL,
    telefono         TEXT,
    archivo          TEXT        NOT NULL,
    tramo_gestion    TEXT,
    negocio          TEXT,
    dias_sin_trafico TEXT,
    zona             TEXT,
    campania_act     TEXT,
    min_vto          DATE,
    decil_contacto   INTEGER,
    decil_pago       INTEGER,
    rango_renta      INTEGER,
    creado_el        TIMESTAMPTZ NOT NULL,
    fecha_asignacion DATE        NOT NULL,
    etl_run_id       BIGINT,
    etl_source       TEXT,
    etl_loaded_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT asignaciones_pkey PRIMARY KEY (cod_luna, cuenta, archivo, fecha_asignacion)
);

CREATE TABLE raw.trandeuda (
    cod_cuenta        TEXT          NOT NULL,
    nro_documento     TEXT          NOT NULL,
    archivo           TEXT          NOT NULL,
    motivo_rechazo    TEXT,
    fecha_vencimiento DATE,
    monto_exigible    NUMERIC(15,2) NOT NULL,
    creado_el         TIMESTAMPTZ   NOT NULL,
    fecha_proceso     DATE          NOT NULL,
    etl_run_id        BIGINT,
    etl_source        TEXT,
    etl_loaded_at     TIMESTAMPTZ   NOT NULL DEFAULT now(),
    CONSTRAINT trandeuda_pkey PRIMARY KEY (cod_cuenta, nro_documento, archivo, fecha_proceso)
);

-- Payment → account lookup: a document's latest snapshot on or before a payment date.
CREATE INDEX trandeuda_documento_idx ON raw.trandeuda (nro_documento, fecha_proceso);
-- deuda_snapshot(d) slices; files arrive in fecha_proceso order.
CREATE INDEX trandeuda_fecha_proceso_brin ON raw.trandeuda USING brin (fecha_proceso);

-- archivo stays in the key: the same payment in two load files is two rows, and
-- re-reading a file is idempotent; aux.pago_dedup collapses them.
CREATE TABLE raw.pagos (
    cod_sistema     TEXT,
    nro_documento   TEXT          NOT NULL,
    archivo         TEXT          NOT NULL,
    motivo_rechazo  TEXT,
    monto_cancelado NUMERIC(15,2) NOT NULL,
    fecha_pago      DATE          NOT NULL,
    creado_el       TIMESTAMPTZ   NOT NULL,
    etl_run_id      BIGINT,
    etl_source      TEXT,
    etl_loaded_at   TIMESTAMPTZ   NOT NULL DEFAULT now(),
    CONSTRAINT pagos_pkey PRIMARY KEY (nro_documento, fecha_pago, monto_cancelado, archivo)
);

-- pago_dedup day slices (lookups by document use the primary key).
CREATE INDEX pagos_fecha_pago_idx ON raw.pagos (fecha_pago);

CREATE TABLE raw.voicebot_gestiones (
    uid              TEXT        NOT NULL,
    campaign_id      TEXT,
    campaign_name    TEXT,
    document         TEXT,
    management       TEXT,
    sub_management   TEXT,
    compromiso       TEXT,
    origin           TEXT,
    observacion      TEXT,
    project          TEXT,
    client           TEXT,
    id_telephony     TEXT,
    url_record_bot   TEXT,
    phone            TEXT,
    date             TIMESTAMPTZ NOT NULL,
    fecha_compromiso TIMESTAMPTZ,
    weight           INTEGER,
    duracion         INTEGER,
    etl_run_id       BIGINT,
    etl_source       TEXT,
    etl_loaded_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT voicebot_gestiones_pkey PRIMARY KEY (uid)
);

CREATE INDEX voicebot_gestiones_date_brin ON raw.voicebot_gestiones USING brin (date);

CREATE TABLE raw.mibotair_gestiones (
    uid              TEXT          NOT NULL,
    campaign_id      TEXT,
    campaign_name    TEXT,
    document         TEXT,
    management       TEXT,
    sub_management   TEXT,
    origin           TEXT,
    n1               TEXT,
    n2               TEXT,
    n3               TEXT,
    observacion      TEXT,
    extra            TEXT,
    project          TEXT,
    client           TEXT,
    nombre_agente    TEXT,
    correo_agente    TEXT,
    url              TEXT,
    phone            TEXT,
    date             TIMESTAMPTZ   NOT NULL,
    fecha_compromiso DATE,
    monto_compromiso NUMERIC(15,2),
    weight           INTEGER,
    duracion         INTEGER,
    etl_run_id       BIGINT,
    etl_source       TEXT,
    etl_loaded_at    TIMESTAMPTZ   NOT NULL DEFAULT now(),
    CONSTRAINT mibotair_gestiones_pkey PRIMARY KEY (uid)
);

CREATE INDEX mibotair_gestiones_date_brin ON raw.mibotair_gestiones USING brin (date);

-- Homologation keys are never NULL: NULL or blank is stored as '' so the three-key
-- join works with plain equality.
CREATE TABLE raw.homologacion_mibotair (
    management      TEXT,
    n_1             TEXT        NOT NULL DEFAULT '',
    n_2             TEXT        NOT NULL DEFAULT '',
    n_3             TEXT        NOT NULL DEFAULT '',
    contactabilidad TEXT,
    tipo_gestion    TEXT,
    codigo_rpta     TEXT,
    pdp             TEXT,
    gestor          TEXT,
    peso            INTEGER,
    es_pdp          BOOLEAN     NOT NULL,
    etl_run_id      BIGINT,
    etl_source      TEXT,
    etl_loaded_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT homologacion_mibotair_pkey PRIMARY KEY (n_1, n_2, n_3)
);

-- es_pdp_homologado (NULL → false) and peso_homologado (NULL → 1) are never NULL
-- after conversion.
CREATE TABLE raw.homologacion_voicebot (
    bot_management             TEXT        NOT NULL DEFAULT '',
    bot_sub_management         TEXT        NOT NULL DEFAULT '',
    bot_compromiso             TEXT        NOT NULL DEFAULT '',
    n1_homologado              TEXT,
    n2_homologado              TEXT,
    n3_homologado              TEXT,
    contactabilidad_homologada TEXT,
    es_pdp_homologado          BOOLEAN     NOT NULL,
    peso_homologado            INTEGER     NOT NULL,
    etl_run_id                 BIGINT,
    etl_source                 TEXT,
    etl_loaded_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT homologacion_voicebot_pkey PRIMARY KEY (bot_management, bot_sub_management, bot_compromiso)
);

-- correo_name is stored lower-case (correo comparisons are case-insensitive);
-- document NULL → 'SIN DNI'.
CREATE TABLE raw.ejecutivos (
    correo_name   TEXT        NOT NULL,
    nombre        TEXT,
    document      TEXT        NOT NULL,
    id_cliente    INTEGER,
    etl_run_id    BIGINT,
    etl_source    TEXT,
    etl_loaded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT ejecutivos_pkey PRIMARY KEY (correo_name)
);
