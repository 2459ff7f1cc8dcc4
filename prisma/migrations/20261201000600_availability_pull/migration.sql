-- CreateEnum
CREATE TYPE "RunKind" AS ENUM ('catalog', 'availability_pull');

-- AlterEnum
ALTER TYPE "SyncTrigger" ADD VALUE 'refresh';

-- AlterTable
ALTER TABLE "availability_slots" ADD COLUMN     "last_push_received" BIGINT,
ADD COLUMN     "last_snapshot" BIGINT,
ADD COLUMN     "removed_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "integrations" ADD COLUMN     "availability_pull_days_ahead" INTEGER NOT NULL DEFAULT 30,
ADD COLUMN     "availability_pull_enabled" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "availability_pull_interval_minutes" INTEGER NOT NULL DEFAULT 60;

-- AlterTable
ALTER TABLE "sync_runs" ADD COLUMN     "kind" "RunKind" NOT NULL DEFAULT 'catalog';

-- CreateIndex
CREATE INDEX "availability_slots_starts_at_idx" ON "availability_slots"("starts_at");
