-- aux: cleaned, joined, attributed rows (domain.md §4), rebuilt slice by slice by the
-- transform (delete + insert of exactly an (archivo, day range) or a day range).
-- No run-dependent columns: two builds from the same raw data and as-of are identical.
-- No foreign keys between aux tables: slices are replaced independently, in order,
-- inside one transaction. The CHECKs encode definitions of §4 so a transform bug
-- fails loudly instead of publishing inconsistent counters.

CREATE SCHEMA aux;

-- 4.1 One row per calendario archivo; attributes from its latest row.
CREATE TABLE aux.campana (
    archivo                       TEXT    NOT NULL,
    fecha_apertura                DATE    NOT NULL, -- MIN over the archivo's rows
    fecha_cierre                  DATE,
    fecha_trandeuda               DATE,
    fecha_cierre_planificada      DATE,
    periodo_date                  DATE    NOT NULL,
    tipo_cartera                  TEXT,
    periodo_asignacion            TEXT,
    rango_vencimiento             TEXT,
    estado_cartera                TEXT,
    periodo_mes                   TEXT,
    tipo_ciclo_campana            TEXT,
    categoria_duracion            TEXT,
    duracion_campana_dias_habiles INTEGER,
    anno_asignacion               INTEGER,
    es_cartera_abierta            BOOLEAN,
    cartera                       TEXT    NOT NULL,
    periodo                       TEXT    NOT NULL, -- YYYY-MM of fecha_apertura
    fin                           DATE    NOT NULL, -- COALESCE(fecha_cierre, today)
    attr_hash                     TEXT    NOT NULL,
    CONSTRAINT campana_pkey PRIMARY KEY (archivo),
    CONSTRAINT campana_cartera_check CHECK (cartera IN ('TEMPRANA', 'CUOTA_FRACCIONAMIENTO', 'ALTAS_NUEVAS', 'OTRAS')),
    CONSTRAINT campana_periodo_check CHECK (periodo ~ '^[0-9]{4}-(0[1-9]|1[0-2])$')
);

-- 4.2 Debt per account and snapshot day: sum over its distinct documents that day.
-- The key (cod_cuenta, fecha_proceso) is indexed day first: a snapshot day is the
-- slice the transform replaces and the unit S(a, D) reads, rows are written in that
-- order (appends to the index instead of ~2.5M random inserts), and point lookups by
-- (account, day) use both columns anyway. No second index.
CREATE TABLE aux.deuda_snapshot (
    cod_cuenta    TEXT          NOT NULL,
    fecha_proceso DATE          NOT NULL,
    monto         NUMERIC(15,2) NOT NULL,
    n_documentos  INTEGER       NOT NULL,
    CONSTRAINT deuda_snapshot_pkey PRIMARY KEY (fecha_proceso, cod_cuenta),
    CONSTRAINT deuda_snapshot_n_documentos_check CHECK (n_documentos > 0)
);

-- 4.3 One row per (campaign, account); archivo is the calendario archivo.
CREATE TABLE aux.asignacion_cuenta (
    archivo          TEXT          NOT NULL,
    cuenta           TEXT          NOT NULL,
    fecha_asignacion DATE          NOT NULL, -- MIN over the account's rows
    cod_luna         TEXT          NOT NULL,
    negocio          TEXT,
    servicio         TEXT          NOT NULL,
    tramo_gestion    TEXT,
    zona             TEXT,
    min_vto          DATE,
    decil_contacto   INTEGER,
    decil_pago       INTEGER,
    rango_renta      INTEGER,
    cartera          TEXT          NOT NULL,
    periodo          TEXT          NOT NULL, -- YYYY-MM of fecha_asignacion
    snap_asig        DATE,
    deuda_asig       NUMERIC(15,2) NOT NULL DEFAULT 0,
    gestionable      BOOLEAN       NOT NULL,
    CONSTRAINT asignacion_cuenta_pkey PRIMARY KEY (archivo, cuenta),
    CONSTRAINT asignacion_cuenta_servicio_check CHECK (servicio IN ('MOVIL', 'FIJA')),
    CONSTRAINT asignacion_cuenta_cartera_check CHECK (cartera IN ('TEMPRANA', 'CUOTA_FRACCIONAMIENTO', 'ALTAS_NUEVAS', 'OTRAS')),
    CONSTRAINT asignacion_cuenta_periodo_check CHECK (periodo ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    CONSTRAINT asignacion_cuenta_gestionable_check CHECK (gestionable = (snap_asig IS NOT NULL AND deuda_asig >= 1.00))
);

-- Attribution looks campaigns up by client (cod_luna, fecha).
CREATE INDEX asignacion_cuenta_cod_luna_idx ON aux.asignacion_cuenta (cod_luna, fecha_asignacion);

-- 4.4 Both channels unified, classified and attributed. Raw codes keep their source
-- names: VOICEBOT fills management, sub_management, compromiso; CALL_CENTER fills
-- management, sub_management (as read) and n1, n2, n3.
CREATE TABLE aux.gestiones_unificadas (
    canal             TEXT          NOT NULL,
    gestion_uid       TEXT          NOT NULL,
    cod_luna          TEXT,                   -- the source document; NULL is never attributed
    ts                TIMESTAMPTZ   NOT NULL,
    fecha             DATE          NOT NULL, -- Lima date of ts
    hora              SMALLINT      NOT NULL, -- Lima hour of ts
    cola              TEXT          NOT NULL, -- campaign_name, NULL → 'SIN_COLA'
    management        TEXT,
    sub_management    TEXT,
    compromiso        TEXT,
    n1                TEXT,
    n2                TEXT,
    n3                TEXT,
    nivel_1           TEXT,
    nivel_2           TEXT,
    nivel_3           TEXT,
    contactabilidad   TEXT          NOT NULL, -- class label: Contacto Efectivo | Contacto No Efectivo | SIN_CLASIFICAR
    es_cd             BOOLEAN       NOT NULL,
    es_ci             BOOLEAN       NOT NULL,
    es_pdp            BOOLEAN       NOT NULL, -- rule_pdp AND class = CD
    peso              INTEGER       NOT NULL,
    homologada        BOOLEAN       NOT NULL,
    monto_compromiso  NUMERIC(15,2),
    fecha_compromiso  DATE,
    correo_agente     TEXT,                   -- CALL_CENTER: lower(correo), NULL → 'SIN_AGENTE'
    nombre_agente     TEXT          NOT NULL, -- VOICEBOT for the bot
    dni_agente        TEXT,
    atribuida         BOOLEAN       NOT NULL,
    archivo_principal TEXT,
    intento           INTEGER,
    CONSTRAINT gestiones_unificadas_pkey PRIMARY KEY (canal, gestion_uid),
    CONSTRAINT gestiones_unificadas_canal_check CHECK (canal IN ('VOICEBOT', 'CALL_CENTER')),
    CONSTRAINT gestiones_unificadas_hora_check CHECK (hora BETWEEN 0 AND 23),
    CONSTRAINT gestiones_unificadas_contactabilidad_check CHECK (
        contactabilidad IN ('Contacto Efectivo', 'Contacto No Efectivo', 'SIN_CLASIFICAR')),
    CONSTRAINT gestiones_unificadas_clase_check CHECK (
        es_cd = (contactabilidad = 'Contacto Efectivo') AND es_ci = (contactabilidad = 'Contacto No Efectivo')),
    CONSTRAINT gestiones_unificadas_pdp_check CHECK (es_cd OR NOT es_pdp),
    CONSTRAINT gestiones_unificadas_atribuida_check CHECK (
        atribuida = (archivo_principal IS NOT NULL) AND atribuida = (intento IS NOT NULL)),
    CONSTRAINT gestiones_unificadas_intento_check CHECK (intento >= 1)
);

-- Gestiones day slices and the operation marts.
CREATE INDEX gestiones_unificadas_fecha_idx ON aux.gestiones_unificadas (fecha);

-- 4.5 Attributed gestión × campaign × client account. Metrics count distinct
-- (canal, gestion_uid), never these rows.
CREATE TABLE aux.gestion_cuenta (
    canal       TEXT    NOT NULL,
    gestion_uid TEXT    NOT NULL,
    archivo     TEXT    NOT NULL,
    cuenta      TEXT    NOT NULL,
    fecha       DATE    NOT NULL,
    es_cd       BOOLEAN NOT NULL,
    es_ci       BOOLEAN NOT NULL,
    es_pdp      BOOLEAN NOT NULL,
    CONSTRAINT gestion_cuenta_pkey PRIMARY KEY (canal, gestion_uid, archivo, cuenta),
    CONSTRAINT gestion_cuenta_canal_check CHECK (canal IN ('VOICEBOT', 'CALL_CENTER'))
);

-- Gestiones day slices. The dashboard reads a campaign's rows whole (first-event
-- dates per account), which a sequential scan does best, so no (archivo, fecha) index:
-- each index costs ~1.4M inserts on a full rebuild.
CREATE INDEX gestion_cuenta_fecha_idx ON aux.gestion_cuenta (fecha);

-- 4.6 One row per distinct (nro_documento, fecha_pago, monto_cancelado).
CREATE TABLE aux.pago_dedup (
    nro_documento    TEXT          NOT NULL,
    fecha_pago       DATE          NOT NULL,
    monto_cancelado  NUMERIC(15,2) NOT NULL,
    times_seen       INTEGER       NOT NULL, -- raw rows with the key (one per load file)
    first_creado_el  TIMESTAMPTZ   NOT NULL,
    last_creado_el   TIMESTAMPTZ   NOT NULL,
    archivos_origen  TEXT[]        NOT NULL, -- sorted
    cuenta           TEXT,
    es_valido        BOOLEAN       NOT NULL,
    motivo_invalidez TEXT,
    CONSTRAINT pago_dedup_pkey PRIMARY KEY (nro_documento, fecha_pago, monto_cancelado),
    CONSTRAINT pago_dedup_times_seen_check CHECK (times_seen >= 1),
    CONSTRAINT pago_dedup_motivo_check CHECK (
        motivo_invalidez IN ('monto_no_positivo', 'fecha_futura', 'exceso_pagos_dia', 'documento_desconocido')),
    CONSTRAINT pago_dedup_valido_check CHECK (es_valido = (motivo_invalidez IS NULL))
);

-- Payment day slices.
CREATE INDEX pago_dedup_fecha_pago_idx ON aux.pago_dedup (fecha_pago);

-- 4.7 Valid payment × campaign holding its account with fecha_pago in the window.
-- The amount is monto_cancelado (part of the key).
CREATE TABLE aux.pago_campana (
    nro_documento   TEXT          NOT NULL,
    fecha_pago      DATE          NOT NULL,
    monto_cancelado NUMERIC(15,2) NOT NULL,
    archivo         TEXT          NOT NULL,
    cuenta          TEXT          NOT NULL,
    cod_luna        TEXT          NOT NULL,
    CONSTRAINT pago_campana_pkey PRIMARY KEY (nro_documento, fecha_pago, monto_cancelado, archivo)
);

-- Dashboard Y(x) per campaign and day.
CREATE INDEX pago_campana_archivo_fecha_idx ON aux.pago_campana (archivo, fecha_pago);
