-- One row per slot outside the partitions (docs/architecture.md, "Slots are partitioned by
-- month"): the identity (integration, option key, availability id) and the slot_date of the row
-- that holds it. Its primary key is the uniqueness a partitioned table cannot check across its
-- partitions: every slot writer upserts its slots' rows here first, in the slots' lock order, and
-- so locks them (ON CONFLICT DO UPDATE locks the row even where its WHERE refuses the update), so
-- two first writes of one slot, or a write and a move, serialise here and meet one row; and the
-- stored row's slot_date is one probe of this index, not one per live partition.
CREATE TABLE slot_ids (
  integration_id uuid NOT NULL REFERENCES integrations(id) ON DELETE CASCADE ON UPDATE CASCADE,
  option_key bigint NOT NULL,
  availability_id text NOT NULL,
  slot_date date NOT NULL,
  PRIMARY KEY (integration_id, option_key, availability_id)
);
-- Retention deletes a dropped month's ids by range (slot_date < the oldest kept month).
CREATE INDEX slot_ids_slot_date_idx ON slot_ids (slot_date);

INSERT INTO slot_ids (integration_id, option_key, availability_id, slot_date)
SELECT integration_id, option_key, availability_id, min(slot_date) FROM availability_slots
GROUP BY integration_id, option_key, availability_id;

-- Every inserted slot row names where it is (a move inserts it again with its new slot_date; a
-- seed or a test inserting rows directly gets its ids too). A writer has upserted the id already:
-- the conflict then updates only a row that moved.
CREATE FUNCTION slot_ids_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO slot_ids (integration_id, option_key, availability_id, slot_date)
  VALUES (NEW.integration_id, NEW.option_key, NEW.availability_id, NEW.slot_date)
  ON CONFLICT (integration_id, option_key, availability_id) DO UPDATE SET slot_date = excluded.slot_date
  WHERE slot_ids.slot_date IS DISTINCT FROM excluded.slot_date;
  RETURN NULL;
END
$$;
CREATE TRIGGER slot_ids_follow AFTER INSERT ON availability_slots FOR EACH ROW EXECUTE FUNCTION slot_ids_follow();

-- slot_key_date probed every live partition; the writers read slot_ids instead.
DROP FUNCTION slot_key_date(uuid, bigint, text, text);
