-- AlterTable
ALTER TABLE "availability_slots" ADD COLUMN     "last_sequence" BIGINT,
ADD COLUMN     "last_updated_at_ms" BIGINT,
ADD COLUMN     "last_updated_at_received" BIGINT,
ADD COLUMN     "last_received" BIGINT;

-- Receive-time keys gain three digits for the gateway replica (µs × 1000 + replica tag), and
-- each slot remembers the newest key applied per ordering source, starting from its current one.
UPDATE "availability_slots" SET
    "order_key" = CASE WHEN "order_source" = 'received_at' THEN "order_key" * 1000 ELSE "order_key" END,
    "last_sequence" = CASE WHEN "order_source" = 'sequence' THEN "order_key" END,
    "last_updated_at_ms" = CASE WHEN "order_source" = 'updated_at' THEN "order_key" END,
    "last_updated_at_received" = CASE WHEN "order_source" = 'updated_at' THEN 0 END,
    "last_received" = CASE WHEN "order_source" = 'received_at' THEN "order_key" * 1000 END;
