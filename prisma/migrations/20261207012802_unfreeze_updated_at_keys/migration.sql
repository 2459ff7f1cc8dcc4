-- Notify accepted an `updatedAt` in any year up to 9999 until its bounds came in (no later than
-- 24 h past the receiving gateway's clock). A slot that applied such a change keeps that key as
-- its newest `updatedAt`, so every later honest change by `updatedAt` is answered stale: the
-- slot is frozen for that source. A key more than 24 h past now() cannot be a supplier's real
-- time (the gateway now refuses it), so it is forgotten: the slot keeps its values, and the next
-- change by `updatedAt` applies whatever its time. Forgetting is preferred to clamping the key
-- to now() + 24 h, which would still refuse every honest change for a day; the real time of the
-- change that set the key is unknown, so nothing better can be kept. `order_key` stays as the
-- record of what was applied, and the other sources' keys (sequence, receive time) are untouched.
UPDATE availability_slots
SET last_updated_at_ms = NULL, last_updated_at_received = NULL
WHERE last_updated_at_ms > (extract(epoch FROM now()) * 1000)::bigint + 86400000;
