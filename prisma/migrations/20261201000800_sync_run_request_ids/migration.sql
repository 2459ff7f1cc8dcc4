-- AlterTable
ALTER TABLE "sync_runs" ADD COLUMN     "request_ids" TEXT[] DEFAULT ARRAY[]::TEXT[];
