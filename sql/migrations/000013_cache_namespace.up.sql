-- Names this database in caches other databases may share: serve prefixes its Redis
-- keys with it, so two deployments (or a demo and production) on one Redis never serve
-- each other's entries at the same data version.
ALTER TABLE etl.data_version ADD COLUMN instance_id uuid NOT NULL DEFAULT gen_random_uuid();
