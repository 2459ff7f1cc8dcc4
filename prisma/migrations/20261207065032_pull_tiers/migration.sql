-- Tiered pulls (issue 22 item 3): `availability_pull.tiers` is the truth; `days_ahead` (the last
-- tier's, the whole window a refresh pulls) and `interval_minutes` (the first tier's, the most
-- frequent pull) follow it. New integrations get the default tiers; existing ones keep their one
-- flat window and interval as one tier.
ALTER TABLE "integrations"
  ADD COLUMN "availability_pull_tiers" JSONB NOT NULL
    DEFAULT '[{"days_ahead": 3, "interval_minutes": 5}, {"days_ahead": 30, "interval_minutes": 60}, {"days_ahead": 90, "interval_minutes": 1440}]';
UPDATE "integrations" SET "availability_pull_tiers" =
  jsonb_build_array(jsonb_build_object('days_ahead', "availability_pull_days_ahead", 'interval_minutes', "availability_pull_interval_minutes"));
ALTER TABLE "integrations" ALTER COLUMN "availability_pull_days_ahead" SET DEFAULT 90,
  ALTER COLUMN "availability_pull_interval_minutes" SET DEFAULT 5;

-- When each tier of each integration is due next: the pull tick claims due rows, not the run
-- history (which is pruned). A tier fires on its own phase (a hash of integration and tier), so a
-- fleet's tiers of one interval spread over that interval instead of firing in the same minute.
CREATE TABLE "availability_pull_schedule" (
  "integration_id" UUID NOT NULL,
  "tier" SMALLINT NOT NULL,
  "next_due_at" TIMESTAMPTZ(3) NOT NULL,
  CONSTRAINT "availability_pull_schedule_pkey" PRIMARY KEY ("integration_id", "tier"),
  CONSTRAINT "availability_pull_schedule_integration_id_fkey" FOREIGN KEY ("integration_id") REFERENCES "integrations"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "availability_pull_schedule_next_due_at_idx" ON "availability_pull_schedule"("next_due_at");

-- Existing integrations: their one tier, due at its first phase slot from now.
INSERT INTO "availability_pull_schedule" ("integration_id", "tier", "next_due_at")
SELECT i."id", 0, to_timestamp((floor((extract(epoch FROM now()) - p.phase) / p.period) + 1) * p.period + p.phase)
FROM "integrations" i
CROSS JOIN LATERAL (SELECT i."availability_pull_interval_minutes" * 60 AS period,
  mod(abs(hashtext(i."id"::text || ':0')::bigint), i."availability_pull_interval_minutes" * 60) AS phase) p
WHERE i."deleted_at" IS NULL;
