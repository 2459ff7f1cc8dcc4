-- Slots partitioned by slot_date, step 3 of 3 (contract): the old table goes. Nothing reads it
-- since step 2; a separate step so that an operator can keep it until the new one is trusted.
DROP TABLE "availability_slots_old";
