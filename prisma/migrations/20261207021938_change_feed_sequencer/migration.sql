-- The change feed without a global commit lock (see docs/architecture.md, "The change feed's
-- position rule"). Writers no longer take positions: each writing transaction appends its events
-- under one header row (its own, so writers never wait for each other), numbered 0..n-1 within
-- it, and draws a ticket from a sequence at its last append, after every row it writes. One
-- sequencer at a time gives every committed, unsequenced header a dense position range, in
-- ticket order; an event's position is its header's first position plus its index.

-- One row per writing transaction. `xact` is the writer's transaction id while the header is
-- unsequenced (several appends of one transaction share the header); `ticket` orders headers in
-- a batch; `first_position`..`last_position` is the range the sequencer gave it (NULL: not yet).
CREATE TABLE "change_transactions" (
    "id" BIGSERIAL NOT NULL,
    "xact" BIGINT,
    "ticket" BIGINT NOT NULL,
    "event_count" INTEGER NOT NULL,
    "first_position" BIGINT,
    "last_position" BIGINT,

    CONSTRAINT "change_transactions_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "change_transactions_last_position_key" ON "change_transactions"("last_position");
-- Small partial indexes over the unsequenced headers only: a writer finds its own header by
-- `xact`, the sequencer takes the committed ones in ticket order.
CREATE UNIQUE INDEX "change_transactions_unsequenced_xact" ON "change_transactions"("xact") WHERE "first_position" IS NULL;
CREATE INDEX "change_transactions_unsequenced_ticket" ON "change_transactions"("ticket") WHERE "first_position" IS NULL;

-- The sequencer's one row: its lock serialises sequencers (never writers), and
-- `sequenced_through` is the newest position ever given.
CREATE TABLE "change_feed_sequencer" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "sequenced_through" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "change_feed_sequencer_pkey" PRIMARY KEY ("id")
);

-- Existing events keep their positions: each becomes its own sequenced header whose id, ticket
-- and position are the old position (`position` is renamed, so no row is rewritten; the new
-- `idx` column's 0 is a catalog-only default).
ALTER TABLE "change_events" RENAME COLUMN "position" TO "txn_id";
ALTER TABLE "change_events" ALTER COLUMN "txn_id" DROP DEFAULT;
ALTER TABLE "change_events" ADD COLUMN "idx" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "change_events" ALTER COLUMN "idx" DROP DEFAULT;
-- For this round's other issues, unused for now: a stable key of the entity (surviving a
-- supplier's re-key) and the locale of a localized catalog event.
ALTER TABLE "change_events" ADD COLUMN "key" TEXT;
ALTER TABLE "change_events" ADD COLUMN "locale" TEXT;
ALTER TABLE "change_events" DROP CONSTRAINT "change_events_pkey";
ALTER TABLE "change_events" ADD CONSTRAINT "change_events_pkey" PRIMARY KEY ("txn_id", "idx");

INSERT INTO "change_transactions" ("id", "ticket", "event_count", "first_position", "last_position")
SELECT "txn_id", "txn_id", 1, "txn_id", "txn_id" FROM "change_events";
-- New headers are numbered past every old position (also one already pruned or rolled back).
SELECT setval('change_transactions_id_seq', GREATEST((SELECT last_value FROM "change_events_position_seq"), 1));
DROP SEQUENCE "change_events_position_seq";
INSERT INTO "change_feed_sequencer" ("id", "sequenced_through")
SELECT 1, GREATEST(COALESCE((SELECT max("txn_id") FROM "change_events"), 0), COALESCE((SELECT "pruned_through" FROM "change_feed_state" WHERE "id" = 1), 0));
