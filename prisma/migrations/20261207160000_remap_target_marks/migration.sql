-- When a product took another's key (a remap, a sync's re-key, a link): a second remap into it
-- would drop the identity it took, so a remap into such a product is refused. Cleared when the
-- product hands its key on. Nullable, no default: no rewrite.
ALTER TABLE "products" ADD COLUMN "key_inherited_at" TIMESTAMPTZ(3);

-- Products that took a key before the column existed, as far as the audit trail still tells
-- (history retention prunes it): a remap's target that still holds the key the remap gave it.
UPDATE "products" p SET "key_inherited_at" = e."at"
FROM "integration_events" e
WHERE e."type" = 'product_remapped' AND e."integration_id" = p."integration_id"
  AND e."details"->>'to' = p."octo_id" AND e."details"->>'key' = p."key"::text;
