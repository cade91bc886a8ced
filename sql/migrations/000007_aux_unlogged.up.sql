-- The aux tables the transform alone reads are derived from raw and rebuilt at will:
-- unlogged, a full rebuild writes no WAL for their ~1 GB (about a fifth of its time on
-- the large set). A crash empties unlogged tables; aux.intact, unlogged too, holds one
-- row while they are whole, so the next transform finds it gone and rebuilds in full
-- instead of patching slices onto empty tables. aux.campana (the API reads it) and the
-- marts stay logged. Unlogged tables are not replicated: aux is read on the primary.
ALTER TABLE aux.deuda_snapshot SET UNLOGGED;
ALTER TABLE aux.asignacion_cuenta SET UNLOGGED;
ALTER TABLE aux.gestiones_unificadas SET UNLOGGED;
ALTER TABLE aux.gestion_cuenta SET UNLOGGED;
ALTER TABLE aux.pago_dedup SET UNLOGGED;
ALTER TABLE aux.pago_campana SET UNLOGGED;

CREATE UNLOGGED TABLE aux.intact (
    id BOOLEAN NOT NULL DEFAULT true,
    CONSTRAINT intact_pkey PRIMARY KEY (id),
    CONSTRAINT intact_single_row CHECK (id)
);

-- The tables are whole at this point (SET UNLOGGED keeps their rows).
INSERT INTO aux.intact DEFAULT VALUES;
