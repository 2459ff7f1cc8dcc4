-- AlterTable
ALTER TABLE "sync_runs" ADD COLUMN     "product_ids" TEXT[] DEFAULT ARRAY[]::TEXT[];
