-- Delivered at commit, so listeners never see a version before its data.
-- $1 version (bigint)
SELECT pg_notify('pulso_data_version', $1::bigint::text)
