-- The unlogged aux tables were emptied (PostgreSQL crashed, or a restore skipped their
-- data) after something had been built: aux.intact lost its row while the data
-- version shows earlier builds.
SELECT NOT EXISTS (SELECT 1 FROM aux.intact) AND (SELECT version > 0 FROM etl.data_version)
