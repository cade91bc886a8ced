ALTER TABLE etl.campaign_build DROP COLUMN built_as_of;
