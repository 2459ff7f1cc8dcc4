-- A pull mark also keeps what the answer was, so that the next answer with the same bytes
-- confirms the window by moving the mark alone, without reading or writing a slot:
-- - digest: SHA-256 (hex) of the answer's bytes as received; NULL when the answer cannot be
--   confirmed that way (it held back or dropped slots, whose warnings each pull reports, or it
--   listed a slot outside its window or without a start, which the window check cannot see);
-- - currency: the currency the answer was asked in (none is asked today: NULL);
-- - slot_count: the slots the answer listed (a confirmed answer counts them unchanged);
-- - window_slots: the stored slots of the window once that answer was written. With no slot of
--   the window written since the mark (no push, no other pull: no key newer than answer_key),
--   the same count means no slot left the window either (a push moving a start out of it).
-- Columns without a default on a small table: no rewrite.
ALTER TABLE "availability_pull_marks" ADD COLUMN "digest" TEXT,
ADD COLUMN "currency" TEXT,
ADD COLUMN "slot_count" INTEGER,
ADD COLUMN "window_slots" INTEGER;
