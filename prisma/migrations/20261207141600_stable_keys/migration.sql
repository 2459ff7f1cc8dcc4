-- octo-sync: no-transaction
-- Stable keys (issue 23 item 3): every product, option and unit gets an opaque `key` that a
-- re-sync never changes and that survives a supplier re-keying a product or a partner
-- re-creating its integration (an admin links them). Expand-style, so a large catalog is never
-- rewritten under one lock: the column is added without a default (no rewrite), new rows get one
-- from the default set afterwards, existing rows are backfilled in committed batches, and NOT
-- NULL is proven by a constraint validated without blocking writes. Idempotent, as a
-- non-transactional migration must be.
ALTER TABLE "products" ADD COLUMN IF NOT EXISTS "key" UUID;
ALTER TABLE "products" ALTER COLUMN "key" SET DEFAULT gen_random_uuid();
ALTER TABLE "product_options" ADD COLUMN IF NOT EXISTS "key" UUID;
ALTER TABLE "product_options" ALTER COLUMN "key" SET DEFAULT gen_random_uuid();
ALTER TABLE "units" ADD COLUMN IF NOT EXISTS "key" UUID;
ALTER TABLE "units" ALTER COLUMN "key" SET DEFAULT gen_random_uuid();

DO $$
DECLARE
  t text;
  n bigint;
BEGIN
  FOREACH t IN ARRAY ARRAY['products', 'product_options', 'units'] LOOP
    LOOP
      EXECUTE format('UPDATE %I SET key = gen_random_uuid() WHERE id IN (SELECT id FROM %I WHERE key IS NULL LIMIT 10000)', t, t);
      GET DIAGNOSTICS n = ROW_COUNT;
      EXIT WHEN n = 0;
      COMMIT;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = t || '_key_not_null') THEN
      EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (key IS NOT NULL) NOT VALID', t, t || '_key_not_null');
    END IF;
    COMMIT;
  END LOOP;
END $$;

ALTER TABLE "products" VALIDATE CONSTRAINT "products_key_not_null";
ALTER TABLE "product_options" VALIDATE CONSTRAINT "product_options_key_not_null";
ALTER TABLE "units" VALIDATE CONSTRAINT "units_key_not_null";
-- A validated CHECK (key IS NOT NULL) lets SET NOT NULL skip its scan; the check is then redundant.
ALTER TABLE "products" ALTER COLUMN "key" SET NOT NULL;
ALTER TABLE "product_options" ALTER COLUMN "key" SET NOT NULL;
ALTER TABLE "units" ALTER COLUMN "key" SET NOT NULL;
ALTER TABLE "products" DROP CONSTRAINT IF EXISTS "products_key_not_null";
ALTER TABLE "product_options" DROP CONSTRAINT IF EXISTS "product_options_key_not_null";
ALTER TABLE "units" DROP CONSTRAINT IF EXISTS "units_key_not_null";

-- When a product handed its key on (a remap): a removed product remapped since its removal has
-- no identity left to hand on (nullable, no default: no rewrite).
ALTER TABLE "products" ADD COLUMN IF NOT EXISTS "remapped_at" TIMESTAMPTZ(3);

-- An admin links a re-created integration to the one it replaces (once: the column is unique).
ALTER TABLE "integrations" ADD COLUMN IF NOT EXISTS "previous_integration_id" UUID;
CREATE UNIQUE INDEX IF NOT EXISTS "integrations_previous_integration_id_key" ON "integrations"("previous_integration_id");

ALTER TYPE "IntegrationEventType" ADD VALUE IF NOT EXISTS 'product_remapped';
ALTER TYPE "IntegrationEventType" ADD VALUE IF NOT EXISTS 'integration_linked';

-- Products that left the catalog in a run beside others that appeared, not matched 1:1 by
-- reference: an admin decides (POST /admin/{id}/products/{productId}/remap).
CREATE TABLE IF NOT EXISTS "remap_candidates" (
  "integration_id" UUID NOT NULL,
  "from_octo_id" TEXT NOT NULL,
  "reference" TEXT,
  "to_octo_ids" TEXT[],
  "reason" TEXT NOT NULL,
  "run_id" UUID,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "remap_candidates_pkey" PRIMARY KEY ("integration_id", "from_octo_id"),
  CONSTRAINT "remap_candidates_integration_id_fkey" FOREIGN KEY ("integration_id") REFERENCES "integrations"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- `product.remapped` events name the supplier id the product had before (a nullable column on
-- the partitioned table: no rewrite).
ALTER TABLE "change_events" ADD COLUMN IF NOT EXISTS "previous_octo_id" TEXT;
