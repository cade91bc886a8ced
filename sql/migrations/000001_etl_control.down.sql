DROP TABLE etl.campaign_build;
DROP TABLE etl.data_version;
DROP TABLE etl.watermark;
DROP TABLE etl.pending_change;
DROP TABLE etl.landing_file;
DROP TABLE etl.reject; -- drops its partitions
DROP TABLE etl.run_table;
DROP TABLE etl.run;
DROP SCHEMA etl;
