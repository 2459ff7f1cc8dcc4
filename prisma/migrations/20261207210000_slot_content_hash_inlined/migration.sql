-- slot_content_hash is declared STABLE, the volatility of what it calls (json_build_array and
-- convert_to are STABLE), so that Postgres inlines it: a SQL function declared IMMUTABLE whose body
-- calls a STABLE function is never inlined, and each call then runs the SQL-function executor
-- (about a third of the hash's cost). Its result is the same: only the declaration changes. No
-- index or generated column uses it (those would need IMMUTABLE); the pull statements and the
-- slots' trigger call it once per listed or written slot.
ALTER FUNCTION slot_content_hash(text, text, integer, integer, jsonb) STABLE;
