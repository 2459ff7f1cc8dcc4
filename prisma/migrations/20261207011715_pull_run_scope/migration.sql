-- AlterTable: whether an availability pull run is narrowed by a refresh (a product, an option or
-- dates). Only whole pulls make an integration "not due", and a whole pull never joins a narrowed one.
ALTER TABLE "sync_runs" ADD COLUMN "scoped" BOOLEAN NOT NULL DEFAULT false;
