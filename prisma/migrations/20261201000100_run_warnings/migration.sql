-- AlterTable
ALTER TABLE "sync_runs" ADD COLUMN     "warnings" JSONB;
