-- Summarizes the block ranges the loads appended to the raw tables' BRIN indexes.
-- An unsummarized range matches every query, so until then the day-slice filters
-- read the whole table; autovacuum would summarize them only if it runs and only
-- with autosummarize. Cheap: only the new ranges are read.
SELECT coalesce(sum(brin_summarize_new_values(i.indexrelid)), 0)::bigint
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_am am ON am.oid = c.relam
WHERE am.amname = 'brin' AND c.relnamespace = 'raw'::regnamespace
