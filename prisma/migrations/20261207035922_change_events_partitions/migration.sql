-- change_events partitioned by RANGE (txn_id), its header's id (docs/architecture.md, "The change
-- feed's partitions"). Positions are given after the insert, so they cannot be the key; the header
-- id is known at insert and every event of a header lands in one partition. Ids are not in
-- position order (a transaction that appended first can be numbered later), so a partition goes
-- only once no header of its range is left (retention deletes a header once the watermark passed
-- all its events) and the id sequence is past its range; change-feed-partitions.ts checks that
-- again after detaching it. Partitions are named change_events_p<from>_<to>.

-- Creates the partition [lo, hi) if it does not exist: a plain table, then attached (the parent's
-- SHARE UPDATE EXCLUSIVE lock only: writers and readers go on).
CREATE FUNCTION change_events_partition_ensure(lo bigint, hi bigint) RETURNS boolean
  LANGUAGE plpgsql AS $$
DECLARE
  name text := format('change_events_p%s_%s', lo, hi);
BEGIN
  IF to_regclass(name) IS NOT NULL THEN RETURN false; END IF;
  EXECUTE format('CREATE TABLE %I (LIKE change_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
  EXECUTE format('ALTER TABLE change_events ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)', name, lo, hi);
  RETURN true;
END
$$;

-- The existing table becomes the first partition as it is (no row is copied): renamed, and
-- attached over [0, the next multiple of the span past every id given so far). The attach reads
-- it once to check the range, under this migration's lock (about a second per million events).
ALTER TABLE "change_events" RENAME TO "change_events_legacy";
ALTER INDEX "change_events_pkey" RENAME TO "change_events_legacy_pkey";

CREATE TABLE "change_events" (
    "txn_id" BIGINT NOT NULL,
    "integration_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "product_octo_id" TEXT NOT NULL,
    "option_octo_id" TEXT,
    "unit_octo_id" TEXT,
    "availability_id" TEXT,
    "content_hash" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "idx" INTEGER NOT NULL,
    "key" TEXT,
    "locale" TEXT,

    CONSTRAINT "change_events_pkey" PRIMARY KEY ("txn_id", "idx")
) PARTITION BY RANGE ("txn_id");

-- 10,000,000 ids a partition (CHANGE_EVENTS_SPAN in change-feed-partitions.ts), two ahead.
DO $$
DECLARE
  span constant bigint := 10000000;
  top bigint := (GREATEST((SELECT last_value FROM change_transactions_id_seq), (SELECT COALESCE(max(txn_id), 0) FROM change_events_legacy)) / span + 1) * span;
BEGIN
  EXECUTE format('ALTER TABLE change_events_legacy RENAME TO %I', format('change_events_p0_%s', top));
  EXECUTE format('ALTER INDEX change_events_legacy_pkey RENAME TO %I', format('change_events_p0_%s_pkey', top));
  EXECUTE format('ALTER TABLE change_events ATTACH PARTITION %I FOR VALUES FROM (0) TO (%s)', format('change_events_p0_%s', top), top);
  PERFORM change_events_partition_ensure(top, top + span);
  PERFORM change_events_partition_ensure(top + span, top + 2 * span);
END
$$;
