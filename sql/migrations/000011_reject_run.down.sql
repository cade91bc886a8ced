DROP TABLE etl.reject_run;
