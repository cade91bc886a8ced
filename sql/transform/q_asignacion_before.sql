-- The aux.asignacion_cuenta rows of the campaigns about to be rebuilt, as they were:
-- q_asignacion_moved compares them with the rebuilt rows. Dropped at commit (and with
-- the transaction on rollback).
-- $1 archivos (text[])
CREATE TEMP TABLE asignacion_before ON COMMIT DROP AS
SELECT archivo, cuenta, fecha_asignacion, cod_luna, servicio, snap_asig, deuda_asig, gestionable
FROM aux.asignacion_cuenta
WHERE archivo = ANY ($1::text[])
