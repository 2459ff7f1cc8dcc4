-- Pull flights (issue 21 item 3): availability pulls are single-flight per (integration, pull
-- scope), not behind a running catalog sync. A pull claims its flight's row (row lock, fence bumped)
-- instead of the integration's, and its writes check the flight's fence; catalog
-- runs keep `integrations.sync_fence`. `scope` is the run's `pull_scope`, '' for a whole pull.
CREATE TABLE "pull_flights" (
  "integration_id" UUID NOT NULL,
  "scope" TEXT NOT NULL,
  "fence" BIGINT NOT NULL DEFAULT 0,
  CONSTRAINT "pull_flights_pkey" PRIMARY KEY ("integration_id", "scope"),
  CONSTRAINT "pull_flights_integration_id_fkey" FOREIGN KEY ("integration_id") REFERENCES "integrations"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
