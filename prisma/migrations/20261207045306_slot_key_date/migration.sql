-- The slot_date a write of a slot must name to meet its stored row (keyDate in
-- packages/db/src/availability/slot-placement.ts): the stored row's, found in the partition of its
-- start's month first and then among every live partition, or for a new slot its start's date
-- ('infinity' without one). A function, not subqueries in each slot statement: those made the
-- planner plan two scans of every partition for every statement (20-40 ms of planning per pull
-- batch at 38 partitions), where a function's statements are planned once per connection and
-- pruned when they run. STABLE: it reads in the calling statement's snapshot, as a subquery did.
CREATE FUNCTION slot_key_date(integration uuid, option bigint, availability text, local_start text) RETURNS date
  LANGUAGE plpgsql STABLE AS $$
DECLARE
  start_date date := slot_date_of(local_start);
  found date;
BEGIN
  IF local_start IS NOT NULL THEN
    SELECT s.slot_date INTO found FROM availability_slots s
    WHERE s.integration_id = integration AND s.option_key = option AND s.availability_id = availability
      AND s.slot_date >= slot_month(start_date) AND s.slot_date < slot_next_month(start_date);
    IF found IS NOT NULL THEN RETURN found; END IF;
  END IF;
  SELECT s.slot_date INTO found FROM availability_slots s
  WHERE s.integration_id = integration AND s.option_key = option AND s.availability_id = availability LIMIT 1;
  RETURN COALESCE(found, start_date);
END
$$;
