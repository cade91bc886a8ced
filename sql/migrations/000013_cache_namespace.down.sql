ALTER TABLE etl.data_version DROP COLUMN instance_id;
