-- Retention decides per header, by when it became readable: `at` is when the sequencer numbered
-- the header (NULL while it is unsequenced), so it follows position order, which the events' own
-- `at` (their transaction's start) does not: a long transaction is numbered after younger ones.
-- Pruning takes the leading run of old headers in position order and stops at the first one that
-- is not old (see docs/architecture.md, "The change feed's position rule").
ALTER TABLE "change_transactions" ADD COLUMN "at" TIMESTAMPTZ(3);

-- Headers numbered before this migration take the time of their newest event (one event each for
-- a feed written under the old commit lock); a header whose events are gone, the migration's time.
UPDATE "change_transactions" t
SET "at" = COALESCE((SELECT max(e."at") FROM "change_events" e WHERE e."txn_id" = t."id"), now())
WHERE t."first_position" IS NOT NULL;

-- Every numbered header has its time: a sequencer that would number one without it (a worker of
-- the previous release) fails instead of leaving a header that no retention tick would ever pass.
ALTER TABLE "change_transactions" ADD CONSTRAINT "change_transactions_numbered_at" CHECK ("first_position" IS NULL OR "at" IS NOT NULL);
