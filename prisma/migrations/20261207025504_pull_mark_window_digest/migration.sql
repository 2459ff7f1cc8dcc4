-- A pull mark keeps the window as its answer says it is, instead of how many slots the window
-- stored once the answer was written (window_slots):
-- - window_digest: SHA-256 over the [availability id, content hash] pairs of the slots the answer
--   listed, sorted by id (packages/db/src/availability/pull-statements.ts, windowDigest), the
--   hashes by slot_content_hash. The next answer with the same bytes moves the mark alone only if
--   the window's open stored slots give the same digest.
-- The count (with "no key newer than the mark") let a push that slipped in under an older mark
-- (its snapshot taken before a confirmation moved the mark past its receive key, or its commit
-- between a pull's reconcile and its mark) be confirmed by every later answer with those bytes.
-- Existing marks get no window digest: their next answer is reconciled in full, which writes one.
ALTER TABLE "availability_pull_marks" ADD COLUMN "window_digest" TEXT,
DROP COLUMN "window_slots";
