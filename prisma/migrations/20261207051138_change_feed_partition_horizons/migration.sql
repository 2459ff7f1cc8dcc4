-- When a change_events partition may go (docs/architecture.md, "The change feed's partitions"):
-- the transaction horizon of its range. Once every id of a partition's range was given, the
-- maintenance records a transaction id taken after it saw that (`xact`); a writer draws its
-- transaction id before its header id (change-outbox.ts), so every writer that holds an id of the
-- range has a lower one. The partition is detached only once the oldest running transaction is
-- past `xact`: no open transaction can then hold an id of its range, and the DETACH never waits
-- for a writer. Raw SQL only (change-feed-partitions.ts), like the partitions themselves.
CREATE TABLE "change_feed_partition_horizons" (
    "name" TEXT NOT NULL,
    "xact" XID8 NOT NULL,

    CONSTRAINT "change_feed_partition_horizons_pkey" PRIMARY KEY ("name")
);
