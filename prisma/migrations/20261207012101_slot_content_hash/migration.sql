-- A slot's content hash, defined once, here: SHA-256 (hex) of the UTF-8 text of
-- json_build_array(local_date_time_start, status, vacancies, capacity, raw), that is everything
-- stored for the slot as the supplier said it (raw included: a price-only change changes it).
-- Keys, receive times and removed_at are bookkeeping, not content.
CREATE FUNCTION slot_content_hash(local_start text, status text, vacancies integer, capacity integer, raw jsonb) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT encode(sha256(convert_to(json_build_array(local_start, status, vacancies, capacity, raw)::text, 'UTF8')), 'hex') $$;

-- Stored with the slot and kept by the database on every write, whichever statement writes (a
-- push may leave fields out and keep the stored ones: only the row as written has the whole
-- content). content_changed: whether the row's last write changed its hash; the slot statements
-- return it, and a write that changed nothing (an identical re-send) appends no change event.
ALTER TABLE "availability_slots" ADD COLUMN "content_hash" TEXT, ADD COLUMN "content_changed" BOOLEAN NOT NULL DEFAULT true;

UPDATE "availability_slots" SET "content_hash" = slot_content_hash(local_date_time_start, status, vacancies, capacity, raw);

CREATE FUNCTION availability_slots_content() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  NEW.content_hash := slot_content_hash(NEW.local_date_time_start, NEW.status, NEW.vacancies, NEW.capacity, NEW.raw);
  NEW.content_changed := TG_OP = 'INSERT' OR NEW.content_hash IS DISTINCT FROM OLD.content_hash;
  RETURN NEW;
END
$$;

CREATE TRIGGER availability_slots_content BEFORE INSERT OR UPDATE ON "availability_slots"
  FOR EACH ROW EXECUTE FUNCTION availability_slots_content();
