-- Campaigns built by earlier runs (some may be gone from aux.campana).
SELECT archivo, last_built_day, attr_hash FROM etl.campaign_build ORDER BY archivo
