-- CreateIndex
CREATE INDEX "products_integration_id_active_octo_id_idx" ON "products"("integration_id", "active", "octo_id");

-- CreateIndex
CREATE INDEX "availability_slots_integration_id_starts_at_idx" ON "availability_slots"("integration_id", "starts_at");
