-- The aux tables are whole as of this transaction (see q_aux_lost).
INSERT INTO aux.intact DEFAULT VALUES ON CONFLICT DO NOTHING
