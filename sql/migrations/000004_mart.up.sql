-- mart: counters only (domain.md §5). Ratios are never stored: any grouping sums the
-- counters first and applies the formula after, so the views mart.v_<table> add the
-- per-row ratios with the same formulas (percentages ×100, zero denominator → 0,
-- unrounded: rounding happens only in JSON). mart.safe_div / mart.pct are the one
-- definition of "zero denominator → 0" for the views and for API queries over sums.
-- The CHECKs encode the row invariants of domain.md §8 so a transform bug fails the
-- build instead of publishing it.

CREATE SCHEMA mart;

CREATE FUNCTION mart.safe_div(num NUMERIC, den NUMERIC) RETURNS NUMERIC
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN den = 0 THEN 0 ELSE num / den END;

CREATE FUNCTION mart.pct(num NUMERIC, den NUMERIC) RETURNS NUMERIC
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN den = 0 THEN 0 ELSE 100 * num / den END;

-- True when the array is strictly increasing in byte order (Go's sort.Strings), i.e.
-- sorted with no duplicates: the API looks assignment_clientes rows up by equality.
CREATE FUNCTION mart.is_sorted_set(a TEXT[]) RETURNS BOOLEAN
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN a = ARRAY(SELECT DISTINCT x COLLATE "C" FROM unnest(a) AS u(x) ORDER BY 1);

-- 5.1 One row per (built day, campaign, cartera, servicio) with |P| > 0.
CREATE TABLE mart.dashboard_data (
    fecha_foto           DATE          NOT NULL,
    archivo              TEXT          NOT NULL,
    cartera              TEXT          NOT NULL,
    servicio             TEXT          NOT NULL,
    cuentas              INTEGER       NOT NULL,
    clientes             INTEGER       NOT NULL, -- distinct cod_luna: not additive across rows
    cuentas_gestionables INTEGER       NOT NULL,
    deuda_asig           NUMERIC(15,2) NOT NULL,
    deuda_act            NUMERIC(15,2) NOT NULL,
    cuentas_gestionadas  INTEGER       NOT NULL,
    total_gestiones      INTEGER       NOT NULL,
    gestiones_bot        INTEGER       NOT NULL,
    gestiones_call       INTEGER       NOT NULL,
    cuentas_cd           INTEGER       NOT NULL,
    cuentas_ci           INTEGER       NOT NULL,
    cuentas_sc           INTEGER       NOT NULL,
    cuentas_sg           INTEGER       NOT NULL,
    cuentas_pdp          INTEGER       NOT NULL,
    cuentas_pagadoras    INTEGER       NOT NULL,
    recupero             NUMERIC(15,2) NOT NULL,
    CONSTRAINT dashboard_data_pkey PRIMARY KEY (fecha_foto, archivo, cartera, servicio),
    CONSTRAINT dashboard_data_cartera_check CHECK (cartera IN ('TEMPRANA', 'CUOTA_FRACCIONAMIENTO', 'ALTAS_NUEVAS', 'OTRAS')),
    CONSTRAINT dashboard_data_servicio_check CHECK (servicio IN ('MOVIL', 'FIJA')),
    CONSTRAINT dashboard_data_cuentas_check CHECK (
        cuentas > 0 AND clientes BETWEEN 1 AND cuentas
        AND cuentas_gestionables BETWEEN 0 AND cuentas
        AND cuentas_gestionadas BETWEEN 0 AND cuentas
        AND cuentas_sg = cuentas - cuentas_gestionadas
        AND cuentas_cd >= 0 AND cuentas_ci >= 0 AND cuentas_sc >= 0
        AND cuentas_cd + cuentas_ci + cuentas_sc = cuentas_gestionadas
        AND cuentas_pdp BETWEEN 0 AND cuentas_cd
        AND cuentas_pagadoras BETWEEN 0 AND cuentas),
    CONSTRAINT dashboard_data_gestiones_check CHECK (
        gestiones_bot >= 0 AND gestiones_call >= 0
        AND gestiones_bot + gestiones_call = total_gestiones
        AND (total_gestiones = 0) = (cuentas_gestionadas = 0))
);

-- "Each campaign's latest fecha_foto ≤ fechaCorte" and per-campaign slice deletes.
CREATE INDEX dashboard_data_archivo_fecha_idx ON mart.dashboard_data (archivo, fecha_foto);

-- 5.2 Assignment by (periodo, campaign, cartera, servicio, fecha_vencimiento); the
-- due date may be NULL and NULLs form one group, hence no primary key but a unique
-- constraint with NULLS NOT DISTINCT.
CREATE TABLE mart.assignment_data (
    periodo              TEXT          NOT NULL,
    archivo              TEXT          NOT NULL,
    cartera              TEXT          NOT NULL,
    servicio             TEXT          NOT NULL,
    fecha_vencimiento    DATE,
    clientes             INTEGER       NOT NULL,
    cuentas              INTEGER       NOT NULL,
    cuentas_gestionables INTEGER       NOT NULL,
    deuda_asig           NUMERIC(15,2) NOT NULL,
    deuda_actual         NUMERIC(15,2) NOT NULL,
    ticket_promedio      NUMERIC(15,2) NOT NULL, -- ROUND(deuda_asig / cuentas, 2)
    CONSTRAINT assignment_data_key UNIQUE NULLS NOT DISTINCT (periodo, archivo, cartera, servicio, fecha_vencimiento),
    CONSTRAINT assignment_data_periodo_check CHECK (periodo ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    CONSTRAINT assignment_data_cartera_check CHECK (cartera IN ('TEMPRANA', 'CUOTA_FRACCIONAMIENTO', 'ALTAS_NUEVAS', 'OTRAS')),
    CONSTRAINT assignment_data_servicio_check CHECK (servicio IN ('MOVIL', 'FIJA')),
    CONSTRAINT assignment_data_cuentas_check CHECK (
        cuentas > 0 AND clientes BETWEEN 1 AND cuentas AND cuentas_gestionables BETWEEN 0 AND cuentas)
);

-- Distinct clients per (periodo, cartera subset, servicio subset), materialised so the
-- API never counts distinct at request time. Arrays are sorted sets (byte order).
CREATE TABLE mart.assignment_clientes (
    periodo   TEXT    NOT NULL,
    carteras  TEXT[]  NOT NULL,
    servicios TEXT[]  NOT NULL,
    clientes  INTEGER NOT NULL,
    CONSTRAINT assignment_clientes_pkey PRIMARY KEY (periodo, carteras, servicios),
    CONSTRAINT assignment_clientes_periodo_check CHECK (periodo ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    CONSTRAINT assignment_clientes_carteras_check CHECK (
        carteras <@ ARRAY['ALTAS_NUEVAS', 'CUOTA_FRACCIONAMIENTO', 'OTRAS', 'TEMPRANA'] AND mart.is_sorted_set(carteras)),
    CONSTRAINT assignment_clientes_servicios_check CHECK (
        servicios <@ ARRAY['FIJA', 'MOVIL'] AND mart.is_sorted_set(servicios)),
    CONSTRAINT assignment_clientes_clientes_check CHECK (clientes >= 0)
);

-- 5.3 Operation marts: attributed gestiones credited once to archivo_principal.
CREATE TABLE mart.operation_data (
    fecha_foto           DATE    NOT NULL,
    hora                 SMALLINT NOT NULL,
    canal                TEXT    NOT NULL,
    archivo              TEXT    NOT NULL,
    total_gestiones      INTEGER NOT NULL,
    contactos_efectivos  INTEGER NOT NULL,
    contactos_indirectos INTEGER NOT NULL,
    sin_contacto         INTEGER NOT NULL,
    total_pdp            INTEGER NOT NULL,
    peso_total           INTEGER NOT NULL,
    clientes_nuevos      INTEGER NOT NULL,
    cuentas_nuevas       INTEGER NOT NULL,
    CONSTRAINT operation_data_pkey PRIMARY KEY (fecha_foto, hora, canal, archivo),
    CONSTRAINT operation_data_hora_check CHECK (hora BETWEEN 0 AND 23),
    CONSTRAINT operation_data_canal_check CHECK (canal IN ('VOICEBOT', 'CALL_CENTER')),
    CONSTRAINT operation_data_counts_check CHECK (
        contactos_efectivos >= 0 AND contactos_indirectos >= 0 AND sin_contacto >= 0
        AND sin_contacto = total_gestiones - contactos_efectivos - contactos_indirectos
        AND total_pdp BETWEEN 0 AND contactos_efectivos
        AND clientes_nuevos BETWEEN 0 AND total_gestiones AND cuentas_nuevas >= clientes_nuevos)
);

CREATE TABLE mart.operation_attempt_data (
    fecha_foto          DATE     NOT NULL,
    canal               TEXT     NOT NULL,
    archivo             TEXT     NOT NULL,
    intento             SMALLINT NOT NULL, -- 10 = "10 or more"
    total_gestiones     INTEGER  NOT NULL,
    contactos_efectivos INTEGER  NOT NULL,
    total_pdp           INTEGER  NOT NULL,
    CONSTRAINT operation_attempt_data_pkey PRIMARY KEY (fecha_foto, canal, archivo, intento),
    CONSTRAINT operation_attempt_data_intento_check CHECK (intento BETWEEN 1 AND 10),
    CONSTRAINT operation_attempt_data_canal_check CHECK (canal IN ('VOICEBOT', 'CALL_CENTER')),
    CONSTRAINT operation_attempt_data_counts_check CHECK (
        contactos_efectivos BETWEEN 0 AND total_gestiones AND total_pdp BETWEEN 0 AND contactos_efectivos)
);

CREATE TABLE mart.operation_queue_data (
    fecha_foto           DATE    NOT NULL,
    canal                TEXT    NOT NULL,
    archivo              TEXT    NOT NULL,
    cola                 TEXT    NOT NULL,
    total_gestiones      INTEGER NOT NULL,
    contactos_efectivos  INTEGER NOT NULL,
    contactos_indirectos INTEGER NOT NULL,
    total_pdp            INTEGER NOT NULL,
    CONSTRAINT operation_queue_data_pkey PRIMARY KEY (fecha_foto, canal, archivo, cola),
    CONSTRAINT operation_queue_data_canal_check CHECK (canal IN ('VOICEBOT', 'CALL_CENTER')),
    CONSTRAINT operation_queue_data_counts_check CHECK (
        contactos_efectivos >= 0 AND contactos_indirectos >= 0
        AND contactos_efectivos + contactos_indirectos <= total_gestiones
        AND total_pdp BETWEEN 0 AND contactos_efectivos)
);

-- 5.4 Attributed CALL_CENTER gestiones and recovery credit per agent and campaign.
CREATE TABLE mart.productivity_data (
    fecha_foto           DATE          NOT NULL,
    correo_agente        TEXT          NOT NULL,
    archivo              TEXT          NOT NULL,
    nombre_agente        TEXT          NOT NULL, -- from the row's latest gestión
    dni_agente           TEXT          NOT NULL,
    total_gestiones      INTEGER       NOT NULL,
    contactos_efectivos  INTEGER       NOT NULL,
    contactos_indirectos INTEGER       NOT NULL,
    total_pdp            INTEGER       NOT NULL,
    peso_total           INTEGER       NOT NULL,
    monto_recuperado     NUMERIC(15,2) NOT NULL,
    pagos_atribuidos     INTEGER       NOT NULL,
    CONSTRAINT productivity_data_pkey PRIMARY KEY (fecha_foto, correo_agente, archivo),
    CONSTRAINT productivity_data_counts_check CHECK (
        contactos_efectivos >= 0 AND contactos_indirectos >= 0
        AND contactos_efectivos + contactos_indirectos <= total_gestiones
        AND total_pdp BETWEEN 0 AND contactos_efectivos
        AND pagos_atribuidos >= 0 AND monto_recuperado >= 0)
);

-- Agent detail (GET /productivity/agents/{correo}) over a date range.
CREATE INDEX productivity_data_agente_idx ON mart.productivity_data (correo_agente, fecha_foto);

CREATE VIEW mart.v_dashboard_data AS
SELECT d.*,
       mart.pct(d.cuentas_gestionadas, d.cuentas)              AS cobertura,
       mart.pct(d.cuentas_cd + d.cuentas_ci, d.cuentas)        AS contacto,
       mart.pct(d.cuentas_cd, d.cuentas)                       AS cd,
       mart.pct(d.cuentas_ci, d.cuentas)                       AS ci,
       mart.pct(d.cuentas_sc, d.cuentas)                       AS sc,
       mart.pct(d.cuentas_pdp, d.cuentas_cd)                   AS conversion,
       mart.pct(d.cuentas_pdp, d.cuentas_gestionadas)          AS efectividad,
       mart.pct(d.cuentas_pagadoras, d.cuentas)                AS cierre,
       mart.pct(d.recupero, d.deuda_asig)                      AS pct_recupero,
       mart.safe_div(d.total_gestiones, d.cuentas_gestionadas) AS intensidad
FROM mart.dashboard_data d;

-- intensidad (total / clientes_nuevos) is defined for whole days only, so it is not
-- a per-row (per-hour) column here.
CREATE VIEW mart.v_operation_data AS
SELECT o.*,
       mart.pct(o.contactos_efectivos + o.contactos_indirectos, o.total_gestiones) AS tasa_contacto,
       mart.pct(o.contactos_efectivos, o.total_gestiones)                          AS contacto_directo,
       mart.pct(o.total_pdp, o.contactos_efectivos)                                AS cierre_rate
FROM mart.operation_data o;

CREATE VIEW mart.v_operation_attempt_data AS
SELECT o.*,
       mart.pct(o.contactos_efectivos, o.total_gestiones) AS contacto_directo,
       mart.pct(o.total_pdp, o.contactos_efectivos)       AS cierre_rate
FROM mart.operation_attempt_data o;

CREATE VIEW mart.v_operation_queue_data AS
SELECT o.*,
       mart.pct(o.contactos_efectivos + o.contactos_indirectos, o.total_gestiones) AS tasa_contacto,
       mart.pct(o.contactos_efectivos, o.total_gestiones)                          AS contacto_directo,
       mart.pct(o.total_pdp, o.contactos_efectivos)                                AS cierre_rate
FROM mart.operation_queue_data o;

CREATE VIEW mart.v_productivity_data AS
SELECT p.*,
       mart.pct(p.total_pdp, p.total_gestiones)     AS closing_rate,
       mart.pct(p.total_pdp, p.contactos_efectivos) AS commitment_conversion
FROM mart.productivity_data p;
