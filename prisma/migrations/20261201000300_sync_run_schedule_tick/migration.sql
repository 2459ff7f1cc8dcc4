-- AlterTable
ALTER TABLE "sync_runs" ADD COLUMN     "schedule_tick" TIMESTAMPTZ(3);
