-- octo-sync: no-transaction
-- Indexes for the retention of run history, alert deliveries and the audit trail (history.prune).
-- Built CONCURRENTLY so that an existing deployment keeps writing runs while they build; each
-- statement is idempotent, as a non-transactional migration must be (README, "Changing the schema").

-- The prune walk: finished runs of one kind, oldest first.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "sync_runs_kind_finished_at_id_idx" ON "sync_runs" ("kind", "finished_at", "id");

-- An integration's newest runs of one kind (the ones retention always keeps).
CREATE INDEX CONCURRENTLY IF NOT EXISTS "sync_runs_integration_id_kind_queued_at_idx" ON "sync_runs" ("integration_id", "kind", "queued_at" DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS "alert_deliveries_created_at_idx" ON "alert_deliveries" ("created_at");

CREATE INDEX CONCURRENTLY IF NOT EXISTS "integration_events_at_idx" ON "integration_events" ("at");
