DELETE FROM etl.reject WHERE reason = 'invalid_json';
ALTER TABLE etl.reject DROP CONSTRAINT reject_reason_check;
ALTER TABLE etl.reject ADD CONSTRAINT reject_reason_check CHECK (reason IN (
    'invalid_value', 'missing_value', 'wrong_field_count', 'invalid_utf8', 'field_too_large',
    'duplicate_key', 'future_date', 'filtered_monto', 'filtered_motivo_rechazo', 'filtered_id_cliente'));
