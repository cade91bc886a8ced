DROP TABLE aux.pago_campana;
DROP TABLE aux.pago_dedup;
DROP TABLE aux.gestion_cuenta;
DROP TABLE aux.gestiones_unificadas;
DROP TABLE aux.asignacion_cuenta;
DROP TABLE aux.deuda_snapshot;
DROP TABLE aux.campana;
DROP SCHEMA aux;
