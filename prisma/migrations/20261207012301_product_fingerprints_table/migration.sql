-- A product's fingerprints move to a table of their own: they change whenever an option or unit
-- of the product changes, and kept on the product's row they rewrote that (wide) row each time
-- although the product's own content had not changed.
CREATE TABLE "product_fingerprints" (
    "product_id" BIGINT NOT NULL,
    "raw_hash" TEXT,
    "tree_hash" TEXT NOT NULL,
    "option_count" INTEGER NOT NULL,
    "unit_count" INTEGER NOT NULL,

    CONSTRAINT "product_fingerprints_pkey" PRIMARY KEY ("product_id")
);

ALTER TABLE "product_fingerprints" ADD CONSTRAINT "product_fingerprints_product_id_fkey" FOREIGN KEY ("product_id") REFERENCES "products"("id") ON DELETE CASCADE ON UPDATE CASCADE;

INSERT INTO "product_fingerprints" ("product_id", "raw_hash", "tree_hash", "option_count", "unit_count")
SELECT "id", "raw_hash", "tree_hash", "option_count", "unit_count" FROM "products"
WHERE "tree_hash" IS NOT NULL AND "option_count" IS NOT NULL AND "unit_count" IS NOT NULL;

ALTER TABLE "products" DROP COLUMN "raw_hash",
DROP COLUMN "tree_hash",
DROP COLUMN "option_count",
DROP COLUMN "unit_count";
