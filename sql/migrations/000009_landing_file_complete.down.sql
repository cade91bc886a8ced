ALTER TABLE etl.landing_file
    DROP COLUMN read_until,
    DROP COLUMN max_incremental;
