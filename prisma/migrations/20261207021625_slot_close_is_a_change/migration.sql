-- A slot closing (removed_at set) or reopening is a change to consumers even when its content
-- hash stays the same: a pull closes a slot no longer listed with its content kept, so a slot
-- whose status was already CLOSED emitted no `slot.closed` event. content_changed is now also
-- true when `removed_at IS NULL` flips (removed_at stays out of the hash: its instant is
-- bookkeeping, only open versus closed is news).
--
-- The hash is also computed at most once per written row where it can be: an upsert that meets
-- its conflict runs the BEFORE INSERT trigger (on the proposed row) and then the BEFORE UPDATE
-- one (on the row as updated). An update that leaves every hashed column as it was (an identical
-- re-send, a pull closing a slot, a write moving only order keys) keeps the stored hash instead
-- of hashing the row again; only an update that changes content hashes twice.
CREATE OR REPLACE FUNCTION availability_slots_content() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  IF TG_OP = 'UPDATE'
    AND (NEW.local_date_time_start, NEW.status, NEW.vacancies, NEW.capacity, NEW.raw)
      IS NOT DISTINCT FROM (OLD.local_date_time_start, OLD.status, OLD.vacancies, OLD.capacity, OLD.raw)
    AND OLD.content_hash IS NOT NULL THEN
    NEW.content_hash := OLD.content_hash;
  ELSE
    NEW.content_hash := slot_content_hash(NEW.local_date_time_start, NEW.status, NEW.vacancies, NEW.capacity, NEW.raw);
  END IF;
  NEW.content_changed := TG_OP = 'INSERT' OR NEW.content_hash IS DISTINCT FROM OLD.content_hash
    OR (NEW.removed_at IS NULL) IS DISTINCT FROM (OLD.removed_at IS NULL);
  RETURN NEW;
END
$$;
