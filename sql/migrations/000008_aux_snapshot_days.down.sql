DROP VIEW aux.snapshot_days;
