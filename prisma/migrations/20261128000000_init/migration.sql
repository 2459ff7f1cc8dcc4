-- CreateEnum
CREATE TYPE "AuthType" AS ENUM ('bearer', 'api_key');

-- CreateEnum
CREATE TYPE "SyncStatus" AS ENUM ('idle', 'syncing', 'error');

-- CreateEnum
CREATE TYPE "HealthStatus" AS ENUM ('HEALTHY', 'DEGRADED', 'DOWN');

-- CreateEnum
CREATE TYPE "SyncTrigger" AS ENUM ('schedule', 'webhook', 'admin', 'availability_fallback', 'health_recovery');

-- CreateEnum
CREATE TYPE "RunStatus" AS ENUM ('queued', 'running', 'succeeded', 'skipped', 'failed');

-- CreateTable
CREATE TABLE "integrations" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "partner_id" TEXT NOT NULL,
    "live_partner_id" TEXT,
    "base_url" TEXT NOT NULL,
    "auth_type" "AuthType" NOT NULL,
    "auth_key_encrypted" TEXT NOT NULL,
    "handles_ticket_delivery" BOOLEAN NOT NULL,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "is_approved" BOOLEAN NOT NULL DEFAULT false,
    "deleted_at" TIMESTAMPTZ(3),
    "webhook_secret_hash" TEXT NOT NULL,
    "previous_webhook_secret_hash" TEXT,
    "previous_webhook_secret_expires_at" TIMESTAMPTZ(3),
    "sync_status" "SyncStatus" NOT NULL DEFAULT 'idle',
    "last_sync_at" TIMESTAMPTZ(3),
    "last_sync_hash" TEXT,
    "last_payload_digest" TEXT,
    "last_checked_at" TIMESTAMPTZ(3),
    "sync_error_code" TEXT,
    "sync_error_message" TEXT,
    "sync_fence" BIGINT NOT NULL DEFAULT 0,
    "health_status" "HealthStatus" NOT NULL DEFAULT 'HEALTHY',
    "last_probe_at" TIMESTAMPTZ(3),
    "last_success_at" TIMESTAMPTZ(3),
    "consecutive_failures" INTEGER NOT NULL DEFAULT 0,
    "degraded_since" TIMESTAMPTZ(3),
    "down_since" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "integrations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "products" (
    "id" BIGSERIAL NOT NULL,
    "integration_id" UUID NOT NULL,
    "octo_id" TEXT NOT NULL,
    "internal_name" TEXT,
    "reference" TEXT,
    "title" TEXT,
    "locale" TEXT,
    "time_zone" TEXT,
    "availability_type" TEXT,
    "default_currency" TEXT,
    "pricing_per" TEXT,
    "raw" JSONB NOT NULL,
    "content_hash" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "removed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "products_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "product_options" (
    "id" BIGSERIAL NOT NULL,
    "product_id" BIGINT NOT NULL,
    "octo_id" TEXT NOT NULL,
    "is_default" BOOLEAN,
    "internal_name" TEXT,
    "reference" TEXT,
    "availability_local_start_times" TEXT[],
    "cancellation_cutoff_amount" INTEGER,
    "cancellation_cutoff_unit" TEXT,
    "min_units" INTEGER,
    "max_units" INTEGER,
    "pricing_from" JSONB,
    "raw" JSONB NOT NULL,
    "content_hash" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "removed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "product_options_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "units" (
    "id" BIGSERIAL NOT NULL,
    "option_id" BIGINT NOT NULL,
    "octo_id" TEXT NOT NULL,
    "internal_name" TEXT,
    "reference" TEXT,
    "type" TEXT,
    "min_age" INTEGER,
    "max_age" INTEGER,
    "min_quantity" INTEGER,
    "max_quantity" INTEGER,
    "pax_count" INTEGER,
    "pricing_from" JSONB,
    "raw" JSONB NOT NULL,
    "content_hash" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "removed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "units_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "availability_slots" (
    "id" BIGSERIAL NOT NULL,
    "integration_id" UUID NOT NULL,
    "product_octo_id" TEXT NOT NULL,
    "option_octo_id" TEXT NOT NULL,
    "availability_id" TEXT NOT NULL,
    "local_date_time_start" TEXT,
    "starts_at" TIMESTAMPTZ(3),
    "status" TEXT,
    "vacancies" INTEGER,
    "capacity" INTEGER,
    "order_key" BIGINT NOT NULL,
    "order_source" TEXT NOT NULL,
    "raw" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "availability_slots_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sync_runs" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "integration_id" UUID NOT NULL,
    "trigger" "SyncTrigger" NOT NULL,
    "status" "RunStatus" NOT NULL DEFAULT 'queued',
    "force" BOOLEAN NOT NULL DEFAULT false,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "queued_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "duration_ms" INTEGER,
    "payload_bytes" INTEGER,
    "hash" TEXT,
    "counts" JSONB,
    "synced" INTEGER,
    "error_code" TEXT,
    "error_message" TEXT,

    CONSTRAINT "sync_runs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "integrations_live_partner_id_key" ON "integrations"("live_partner_id");

-- CreateIndex
CREATE INDEX "integrations_partner_id_idx" ON "integrations"("partner_id");

-- CreateIndex
CREATE UNIQUE INDEX "products_integration_id_octo_id_key" ON "products"("integration_id", "octo_id");

-- CreateIndex
CREATE UNIQUE INDEX "product_options_product_id_octo_id_key" ON "product_options"("product_id", "octo_id");

-- CreateIndex
CREATE UNIQUE INDEX "units_option_id_octo_id_key" ON "units"("option_id", "octo_id");

-- CreateIndex
CREATE UNIQUE INDEX "availability_slots_integration_id_product_octo_id_option_oc_key" ON "availability_slots"("integration_id", "product_octo_id", "option_octo_id", "availability_id");

-- CreateIndex
CREATE INDEX "sync_runs_integration_id_queued_at_idx" ON "sync_runs"("integration_id", "queued_at" DESC);

-- CreateIndex
CREATE INDEX "sync_runs_integration_id_status_idx" ON "sync_runs"("integration_id", "status");

-- AddForeignKey
ALTER TABLE "products" ADD CONSTRAINT "products_integration_id_fkey" FOREIGN KEY ("integration_id") REFERENCES "integrations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "product_options" ADD CONSTRAINT "product_options_product_id_fkey" FOREIGN KEY ("product_id") REFERENCES "products"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "units" ADD CONSTRAINT "units_option_id_fkey" FOREIGN KEY ("option_id") REFERENCES "product_options"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "availability_slots" ADD CONSTRAINT "availability_slots_integration_id_fkey" FOREIGN KEY ("integration_id") REFERENCES "integrations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sync_runs" ADD CONSTRAINT "sync_runs_integration_id_fkey" FOREIGN KEY ("integration_id") REFERENCES "integrations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
