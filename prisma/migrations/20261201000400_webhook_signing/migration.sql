-- CreateEnum
CREATE TYPE "WebhookAuthMode" AS ENUM ('secret_or_signature', 'signature');

-- CreateEnum
CREATE TYPE "IntegrationEventType" AS ENUM ('created', 'approved', 'revoked', 'activated', 'deactivated', 'base_url_changed', 'auth_key_changed', 'webhook_secret_rotated', 'webhook_auth_changed', 'sync_forced', 'dashboard_job_action', 'deleted');

-- AlterTable
ALTER TABLE "integrations" ADD COLUMN     "previous_webhook_secret_sealed" TEXT,
ADD COLUMN     "webhook_auth" "WebhookAuthMode" NOT NULL DEFAULT 'secret_or_signature',
ADD COLUMN     "webhook_rotated_at" TIMESTAMPTZ(3),
ADD COLUMN     "webhook_rotation_key" TEXT,
ADD COLUMN     "webhook_secret_sealed" TEXT;

-- CreateTable
CREATE TABLE "integration_events" (
    "id" BIGSERIAL NOT NULL,
    "integration_id" UUID NOT NULL,
    "type" "IntegrationEventType" NOT NULL,
    "actor" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "details" JSONB,

    CONSTRAINT "integration_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "integration_events_integration_id_at_id_idx" ON "integration_events"("integration_id", "at" DESC, "id" DESC);

-- AddForeignKey
ALTER TABLE "integration_events" ADD CONSTRAINT "integration_events_integration_id_fkey" FOREIGN KEY ("integration_id") REFERENCES "integrations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
