-- Campaigns built by earlier runs (some may be gone from aux.campana), with the today
-- of their last build.
SELECT archivo, last_built_day, attr_hash, built_as_of FROM etl.campaign_build ORDER BY archivo
