-- CreateTable
CREATE TABLE "change_events" (
    "position" BIGSERIAL NOT NULL,
    "integration_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "product_octo_id" TEXT NOT NULL,
    "option_octo_id" TEXT,
    "unit_octo_id" TEXT,
    "availability_id" TEXT,
    "content_hash" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "change_events_pkey" PRIMARY KEY ("position")
);

-- CreateTable
CREATE TABLE "change_feed_state" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "pruned_through" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "change_feed_state_pkey" PRIMARY KEY ("id")
);
