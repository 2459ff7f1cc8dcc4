-- Registered consumers of the change feed (docs/partner-api.md, "Consumer cursors"): a reader
-- token's subject names its consumer, which keeps its cursor here by acknowledging positions;
-- reading without `after` resumes from it, and the worker's lag gauges are per consumer.
CREATE TABLE "change_feed_consumers" (
    "name" TEXT NOT NULL,
    "position" BIGINT NOT NULL,
    "acked_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "change_feed_consumers_pkey" PRIMARY KEY ("name")
);
