-- Large catalog runs stage their changed rows here, with COPY and outside their fenced
-- transaction, which then only merges them (packages/db/src/catalog/catalog-stage.ts).
--
-- - One ordinary table, partitioned by LIST (lane) into 64 fixed UNLOGGED lanes created here: a
--   run leases a free lane (catalog_stage_lanes), so no run ever creates or drops a table (no
--   pg_class churn, and it works behind a transaction-mode PgBouncer, which a temporary table does
--   not). Unlogged: staged rows are worth nothing after a crash (the run is retried), so they
--   write no WAL.
-- - Every row carries its run and fence: rows a stalled worker COPYs late, under an older fence,
--   never mix with its takeover's, whose merge reads only its own (run_id, fence).
-- - A lane is emptied by TRUNCATE of its partition when it is leased and when it is released:
--   never by DELETE (no dead rows, no vacuum).
-- - kind: 'p' product, 'o' option, 'u' unit, 'f' the fingerprints alone of a product whose own row
--   is unchanged. Parents the run does not write carry their stored id (product_id, option_id);
--   new ones are found by OCTO id when the merge runs.
CREATE TABLE "catalog_stage" (
  "lane" INTEGER NOT NULL,
  "run_id" UUID NOT NULL,
  "fence" BIGINT NOT NULL,
  "kind" CHAR(1) NOT NULL,
  "product_id" BIGINT,
  "product_octo_id" TEXT NOT NULL,
  "option_id" BIGINT,
  "option_octo_id" TEXT,
  "octo_id" TEXT,
  "internal_name" TEXT,
  "reference" TEXT,
  "title" TEXT,
  "locale" TEXT,
  "time_zone" TEXT,
  "availability_type" TEXT,
  "default_currency" TEXT,
  "pricing_per" TEXT,
  "is_default" BOOLEAN,
  "availability_local_start_times" TEXT[],
  "cancellation_cutoff_amount" INTEGER,
  "cancellation_cutoff_unit" TEXT,
  "min_units" INTEGER,
  "max_units" INTEGER,
  "type" TEXT,
  "min_age" INTEGER,
  "max_age" INTEGER,
  "min_quantity" INTEGER,
  "max_quantity" INTEGER,
  "pax_count" INTEGER,
  "pricing_from" JSONB,
  "raw" JSONB,
  "content_hash" TEXT,
  "raw_hash" TEXT,
  "tree_hash" TEXT,
  "option_count" INTEGER,
  "unit_count" INTEGER
) PARTITION BY LIST ("lane");

-- Who holds each lane: a lane is free when its run is no longer running under that fence.
CREATE TABLE "catalog_stage_lanes" (
  "lane" INTEGER NOT NULL,
  "run_id" UUID,
  "fence" BIGINT,
  "leased_at" TIMESTAMPTZ(3),
  CONSTRAINT "catalog_stage_lanes_pkey" PRIMARY KEY ("lane")
);

DO $$
BEGIN
  FOR lane IN 0..63 LOOP
    EXECUTE format('CREATE UNLOGGED TABLE catalog_stage_%s PARTITION OF catalog_stage FOR VALUES IN (%s)', lane, lane);
    INSERT INTO catalog_stage_lanes (lane) VALUES (lane);
  END LOOP;
END $$;
