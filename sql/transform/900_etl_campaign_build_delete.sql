-- etl.campaign_build is rewritten whole after every rebuild: each campaign's dashboard
-- is then built up to LEAST(fin, today).
DELETE FROM etl.campaign_build
