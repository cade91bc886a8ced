-- The raw tables whose statistics a load has outdated: more than 1,000 rows and more
-- than a tenth of the table written since their last ANALYZE. The transform analyzes
-- them first (inside its transaction) instead of relying on autovacuum, which may be
-- off or not have run yet: without statistics the slice filters on the raw tables
-- plan as full scans.
SELECT relname
FROM pg_stat_user_tables
WHERE schemaname = 'raw' AND n_mod_since_analyze > 1000 AND n_mod_since_analyze > 0.1 * n_live_tup
ORDER BY relname
