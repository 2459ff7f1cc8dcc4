-- octo-sync: no-transaction
-- GET /admin lists integrations newest first and pages by keyset on (created_at, id): an index in
-- that order serves both a page and the seek past a cursor without sorting the table.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "integrations_created_at_id_idx" ON "integrations" ("created_at" DESC, "id" DESC);
