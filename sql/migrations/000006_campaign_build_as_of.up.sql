-- The "today" each campaign was last built as of: mart.assignment_data depends on it
-- (E = LEAST(last day of periodo, today)), so a run with the same today and no change
-- to its inputs leaves the campaign's assignment rows alone. NULL (built before this
-- column existed) means unknown: the next run rebuilds them.
ALTER TABLE etl.campaign_build ADD COLUMN built_as_of DATE;
