-- Slots partitioned by slot_date, step 2 of 3 (switch): the partitioned table takes the name
-- `availability_slots`. Writers are held for the statements below only: the rows the batch fill
-- (`npm run db:fill-slots`, step 1) has not reached yet are copied under the lock, so run the fill
-- to its end first and this takes seconds whatever the table's size (on a database where it never
-- ran, this copies every slot). Workers stop before it (the old ones write the old table's key).
LOCK TABLE "availability_slots" IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO "availability_slots_next"
  SELECT (slot_row_of(o)).* FROM "availability_slots" o WHERE o.id > (SELECT last_id FROM slot_fill_state)
  ON CONFLICT DO NOTHING;
DROP TRIGGER availability_slots_forward ON "availability_slots";
DROP FUNCTION availability_slots_forward();
DROP FUNCTION slot_fill_batch(integer);
DROP FUNCTION slot_row_of(availability_slots);
DROP TABLE slot_fill_state;

ALTER TABLE "availability_slots" RENAME TO "availability_slots_old";
ALTER TABLE "availability_slots_old" RENAME CONSTRAINT "availability_slots_integration_id_fkey" TO "availability_slots_old_integration_id_fkey";
ALTER INDEX "availability_slots_integration_id_starts_at_idx" RENAME TO "availability_slots_old_integration_id_starts_at_idx";
ALTER INDEX "availability_slots_option_local_date_idx" RENAME TO "availability_slots_old_option_local_date_idx";
DROP TRIGGER availability_slots_content ON "availability_slots_old";

ALTER TABLE "availability_slots_next" RENAME TO "availability_slots";
ALTER TABLE "availability_slots" RENAME CONSTRAINT "availability_slots_next_integration_id_fkey" TO "availability_slots_integration_id_fkey";
ALTER INDEX "availability_slots_next_key" RENAME TO "availability_slots_integration_id_option_key_availability_i_key";
ALTER INDEX "availability_slots_next_starts_idx" RENAME TO "availability_slots_integration_id_starts_at_idx";
ALTER INDEX "availability_slots_next_option_local_date_idx" RENAME TO "availability_slots_option_local_date_idx";
ALTER TRIGGER availability_slots_next_content ON "availability_slots" RENAME TO availability_slots_content;
ALTER TABLE "availability_slots_next_undated" RENAME TO "availability_slots_undated";
DO $$
DECLARE
  part record;
BEGIN
  FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'availability_slots'::regclass AND c.relname LIKE 'availability_slots_next_p%' LOOP
    EXECUTE format('ALTER TABLE %I RENAME TO %I', part.relname, replace(part.relname, '_next_', '_'));
  END LOOP;
END
$$;
