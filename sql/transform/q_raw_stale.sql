-- The raw tables whose statistics the loads have outdated: never analyzed, or grown by
-- more than a tenth (and 1 MB) since their last ANALYZE. The transform analyzes them
-- first (inside its transaction) instead of relying on autovacuum, which may be off or
-- not have run yet: without statistics the slice filters on the raw tables plan as
-- full scans. Read from the catalog and the file size, which a load moves at once (the
-- cumulative statistics views lag behind the loading sessions by up to a second).
SELECT c.relname
FROM pg_class c
WHERE c.relnamespace = 'raw'::regnamespace AND c.relkind = 'r'
  AND (c.reltuples < 0
       OR pg_relation_size(c.oid) / current_setting('block_size')::int > 1.1 * c.relpages + 128)
ORDER BY c.relname
