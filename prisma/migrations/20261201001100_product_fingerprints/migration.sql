-- AlterTable: per-product fingerprints, so that a re-sync parses only the products whose bytes changed
ALTER TABLE "products" ADD COLUMN     "raw_hash" TEXT,
ADD COLUMN     "tree_hash" TEXT,
ADD COLUMN     "option_count" INTEGER,
ADD COLUMN     "unit_count" INTEGER;
