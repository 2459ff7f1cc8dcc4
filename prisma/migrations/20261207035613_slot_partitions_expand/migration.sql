-- Slots partitioned by slot_date, step 1 of 3 (expand): the new table beside the old one.
--
-- `availability_slots_next` is partitioned by RANGE (slot_date): the local date a slot was first
-- stored with in its month's partition (the date part of its local start), never updated; undated
-- slots (no start yet) have slot_date 'infinity' and their own partition. One month per partition
-- (docs/architecture.md, "Slots are partitioned by month"). The key is (integration, option_key,
-- availability id, slot_date), option_key being a bigint of `slot_options`: 4 narrow columns where
-- the old key had a uuid and three texts. Until the switch (step 2), every write to the old table
-- is forwarded here by a trigger, and `slot_fill_batch` copies the rows written before, in
-- bounded batches (`npm run db:fill-slots`); step 2 copies what is left and renames.

-- The internal id of an (integration, product, option) for slots. Slots can arrive before the
-- catalog stores their option, so this is its own table, upserted on demand; a supplier re-key of
-- an option is an UPDATE of its one row here.
CREATE TABLE "slot_options" (
  "option_key" BIGSERIAL,
  "integration_id" UUID NOT NULL,
  "product_octo_id" TEXT NOT NULL,
  "option_octo_id" TEXT NOT NULL,
  CONSTRAINT "slot_options_pkey" PRIMARY KEY ("option_key")
);
CREATE UNIQUE INDEX "slot_options_integration_id_product_octo_id_option_octo_id_key"
  ON "slot_options" ("integration_id", "product_octo_id", "option_octo_id");
ALTER TABLE "slot_options" ADD CONSTRAINT "slot_options_integration_id_fkey"
  FOREIGN KEY ("integration_id") REFERENCES "integrations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The option key of (integration, product, option), created when first asked for. Concurrent
-- callers agree: the insert that loses the race reads the winner's row (a new snapshot per
-- statement under READ COMMITTED).
CREATE FUNCTION slot_option_key(integration uuid, product text, option text) RETURNS bigint
  LANGUAGE plpgsql AS $$
DECLARE
  found bigint;
BEGIN
  SELECT option_key INTO found FROM slot_options WHERE integration_id = integration AND product_octo_id = product AND option_octo_id = option;
  IF found IS NOT NULL THEN RETURN found; END IF;
  INSERT INTO slot_options (integration_id, product_octo_id, option_octo_id) VALUES (integration, product, option)
    ON CONFLICT DO NOTHING RETURNING option_key INTO found;
  IF found IS NOT NULL THEN RETURN found; END IF;
  SELECT option_key INTO found FROM slot_options WHERE integration_id = integration AND product_octo_id = product AND option_octo_id = option;
  RETURN found;
END
$$;

-- A slot's date for its partition: the date part of its local start as the supplier wrote it
-- (the pull window's expression, slot-order.ts), 'infinity' without one (the undated partition).
CREATE FUNCTION slot_date_of(local_start text) RETURNS date
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN local_start IS NULL THEN 'infinity'::date ELSE left(local_start, 10)::date END
$$;

-- The first day of the month (the partition) holding `d`, and of the next: a slot's row stays in
-- the partition of its start's month, so every probe by month is pruned to one partition.
CREATE FUNCTION slot_month(d date) RETURNS date
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT CASE WHEN d = 'infinity' THEN d ELSE date_trunc('month', d)::date END $$;
CREATE FUNCTION slot_next_month(d date) RETURNS date
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT CASE WHEN d = 'infinity' THEN d ELSE (date_trunc('month', d) + interval '1 month')::date END $$;

CREATE TABLE "availability_slots_next" (
  "integration_id" UUID NOT NULL,
  "option_key" BIGINT NOT NULL,
  "slot_date" DATE NOT NULL,
  "product_octo_id" TEXT NOT NULL,
  "option_octo_id" TEXT NOT NULL,
  "availability_id" TEXT NOT NULL,
  "local_date_time_start" TEXT,
  "starts_at" TIMESTAMPTZ(3),
  "status" TEXT,
  "vacancies" INTEGER,
  "capacity" INTEGER,
  "order_key" BIGINT NOT NULL,
  "order_source" TEXT NOT NULL,
  "last_sequence" BIGINT,
  "last_updated_at_ms" BIGINT,
  "last_updated_at_received" BIGINT,
  "last_received" BIGINT,
  "last_push_received" BIGINT,
  "last_snapshot" BIGINT,
  "removed_at" TIMESTAMPTZ(3),
  "raw" JSONB,
  "content_hash" TEXT,
  "content_changed" BOOLEAN NOT NULL DEFAULT true,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
) PARTITION BY RANGE ("slot_date");
CREATE UNIQUE INDEX "availability_slots_next_key" ON "availability_slots_next" ("integration_id", "option_key", "availability_id", "slot_date");
CREATE INDEX "availability_slots_next_starts_idx" ON "availability_slots_next" ("integration_id", "starts_at");
-- A pull's window: the option's slots by local date (inWindow's expression, slot-order.ts), one
-- range scan per partition of the window's months (the unique key would read the whole month).
CREATE INDEX "availability_slots_next_option_local_date_idx" ON "availability_slots_next" ("integration_id", "option_key", left("local_date_time_start", 10));
ALTER TABLE "availability_slots_next" ADD CONSTRAINT "availability_slots_next_integration_id_fkey"
  FOREIGN KEY ("integration_id") REFERENCES "integrations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
CREATE TRIGGER availability_slots_next_content BEFORE INSERT OR UPDATE ON "availability_slots_next"
  FOR EACH ROW EXECUTE FUNCTION availability_slots_content();

-- One month's partition, created as a plain table and then attached (ATTACH takes SHARE UPDATE
-- EXCLUSIVE on the parent, and ACCESS EXCLUSIVE on integrations for the foreign key it clones). The worker's `availability.partitions` job calls it for
-- the months ahead, under lock_timeout. Idempotent.
CREATE FUNCTION slot_partition_ensure(parent regclass, month date) RETURNS boolean
  LANGUAGE plpgsql AS $$
DECLARE
  name text := format('%s_p%s', parent::text, to_char(month, 'YYYYMM'));
BEGIN
  IF to_regclass(name) IS NOT NULL THEN RETURN false; END IF;
  EXECUTE format('CREATE TABLE %I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name, parent);
  EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent, name, month, slot_next_month(month));
  RETURN true;
END
$$;

-- Old rows starting past the months created below would find no partition and block the upgrade
-- (the fill, the forwarding trigger, the switch): refused here, with their range, before anything.
DO $$
DECLARE
  first_start date;
  last_start date;
BEGIN
  SELECT min(slot_date_of(local_date_time_start)), max(slot_date_of(local_date_time_start)) INTO first_start, last_start
  FROM availability_slots WHERE local_date_time_start IS NOT NULL AND slot_date_of(local_date_time_start) >= date_trunc('month', now() + interval '26 months');
  IF first_start IS NOT NULL THEN
    RAISE EXCEPTION 'availability_slots has slots starting from % to %, after the last month this upgrade partitions (%): the gateway accepts starts up to 2 years ahead; delete or correct those rows, then migrate again',
      first_start, last_start, to_char(now() + interval '25 months', 'YYYY-MM');
  END IF;
END
$$;

CREATE TABLE "availability_slots_next_undated" PARTITION OF "availability_slots_next" FOR VALUES FROM ('infinity') TO (MAXVALUE);
-- Months from the oldest stored start (or a year back) to 25 months ahead: every start the
-- gateway accepts (today − AVAILABILITY_RETENTION_DAYS to today + 2 years), until the worker's job
-- keeps them.
SELECT slot_partition_ensure('availability_slots_next', m::date)
FROM generate_series(
  date_trunc('month', LEAST(now() - interval '12 months', (SELECT min(slot_date_of(local_date_time_start)) FROM availability_slots WHERE local_date_time_start IS NOT NULL))),
  date_trunc('month', now() + interval '25 months'), interval '1 month') AS m;

-- Step 2 renames the tables: the forwarding names whichever is the new one by name now.
-- The forwarded row is found by its whole key: the option key computed first (slot_option_key is
-- VOLATILE: in the WHERE it would be no index condition) and the slot_date it was forwarded with
-- (its start's, as slot_row_of gives it), so the DELETE is one index probe of one partition.
CREATE FUNCTION availability_slots_forward() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  key bigint;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    key := slot_option_key(OLD.integration_id, OLD.product_octo_id, OLD.option_octo_id);
    DELETE FROM availability_slots_next n WHERE n.integration_id = OLD.integration_id AND n.option_key = key
      AND n.availability_id = OLD.availability_id AND n.slot_date = slot_date_of(OLD.local_date_time_start);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO availability_slots_next SELECT (slot_row_of(NEW)).*;
  END IF;
  RETURN NULL;
END
$$;

-- An old row in the new layout (its slot_date from its start as it is now).
CREATE FUNCTION slot_row_of(o availability_slots) RETURNS availability_slots_next
  LANGUAGE sql AS $$
  SELECT o.integration_id, slot_option_key(o.integration_id, o.product_octo_id, o.option_octo_id), slot_date_of(o.local_date_time_start),
    o.product_octo_id, o.option_octo_id, o.availability_id, o.local_date_time_start, o.starts_at, o.status, o.vacancies, o.capacity,
    o.order_key, o.order_source, o.last_sequence, o.last_updated_at_ms, o.last_updated_at_received, o.last_received,
    o.last_push_received, o.last_snapshot, o.removed_at, o.raw, o.content_hash, o.content_changed, o.created_at, o.updated_at
$$;

CREATE TRIGGER availability_slots_forward AFTER INSERT OR UPDATE OR DELETE ON "availability_slots"
  FOR EACH ROW EXECUTE FUNCTION availability_slots_forward();

-- How far the batch fill has copied the old table (its rows with a higher id are left to copy;
-- rows written since this migration were forwarded already).
CREATE TABLE "slot_fill_state" ("last_id" BIGINT NOT NULL);
INSERT INTO "slot_fill_state" VALUES (0);

-- Copies up to `batch` old rows past the fill's last id that are not in the new table yet, oldest
-- id first, each locked (FOR SHARE) while it is read so that a concurrent writer's forwarded
-- version is the one kept; returns how many rows it looked at (0: the fill is done).
CREATE FUNCTION slot_fill_batch(batch integer) RETURNS integer
  LANGUAGE plpgsql AS $$
DECLARE
  looked integer;
  last bigint;
BEGIN
  WITH picked AS (
    SELECT o FROM availability_slots o WHERE o.id > (SELECT last_id FROM slot_fill_state) ORDER BY o.id LIMIT batch FOR SHARE
  ), copied AS (
    INSERT INTO availability_slots_next SELECT (slot_row_of(p.o)).* FROM picked p ON CONFLICT DO NOTHING
  )
  SELECT count(*), max((p.o).id) INTO looked, last FROM picked p;
  IF last IS NOT NULL THEN UPDATE slot_fill_state SET last_id = last; END IF;
  RETURN looked;
END
$$;
