-- When a pull last claimed its flight: retention deletes an idle flight only once that is before
-- the runs' retention cutoff. Its check that no run of the flight is queued or running reads a
-- snapshot taken when the statement began, so a run claimed meanwhile looked absent; the claim's
-- claimed_at is on the flight row itself, which the delete re-checks when it locks the row.
ALTER TABLE "pull_flights" ADD COLUMN "claimed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
