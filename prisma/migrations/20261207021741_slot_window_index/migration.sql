-- octo-sync: no-transaction
-- A pull reads and closes the slots of one option over a window of local dates (the local
-- start's date part as the supplier wrote it, `left(local_date_time_start, 10)`: the expression
-- of `inWindow` in packages/db/src/availability/slot-order.ts, which every statement that bounds
-- slots by a window uses, so this index serves them). Without it, the only index on the option is
-- the unique key, and a pull read every stored slot of the option, history included.
-- Undated slots (no local start) have a NULL key here and are in no window.
--
-- Built CONCURRENTLY: on a big table the build takes as long as a scan and a sort of every slot
-- (hours at hundreds of millions), during which writes go on; idempotent, as a non-transactional
-- migration must be (README, "Changing the schema").
CREATE INDEX CONCURRENTLY IF NOT EXISTS "availability_slots_option_local_date_idx"
  ON "availability_slots" ("integration_id", "product_octo_id", "option_octo_id", left("local_date_time_start", 10));
