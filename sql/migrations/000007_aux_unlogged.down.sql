DROP TABLE aux.intact;

ALTER TABLE aux.pago_campana SET LOGGED;
ALTER TABLE aux.pago_dedup SET LOGGED;
ALTER TABLE aux.gestion_cuenta SET LOGGED;
ALTER TABLE aux.gestiones_unificadas SET LOGGED;
ALTER TABLE aux.asignacion_cuenta SET LOGGED;
ALTER TABLE aux.deuda_snapshot SET LOGGED;
