-- What a landing file held beyond the window it was read with: max_incremental is the
-- greatest incremental value among its rows that reached the window check, read_until
-- the end of that window. A file with max_incremental >= read_until had rows filtered
-- as too late (an --as-of replay, a producer clock running ahead): it is read again
-- even unchanged, until a window has covered all of its rows. NULL (full tables, rows
-- recorded before these columns existed) means complete.
ALTER TABLE etl.landing_file
    ADD COLUMN max_incremental TIMESTAMPTZ,
    ADD COLUMN read_until      TIMESTAMPTZ;
