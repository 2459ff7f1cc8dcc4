-- JIT off for this database's new sessions (docs/architecture.md, "No JIT"): a plan over every
-- slot partition adds their estimates past jit_above_cost, and Postgres compiled (about 1 s)
-- statements that run in milliseconds. The pool also asks for it in its start-up packet
-- (client.ts), which a transaction-mode PgBouncer refuses unless `options` is in its
-- ignore_startup_parameters; this setting keeps JIT off there. ALTER DATABASE needs the database's
-- owner: a migrating role that is not leaves it to the operator (README, PgBouncer), with a notice.
DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'jit not set off for database %: run ALTER DATABASE % SET jit = off as its owner', current_database(), current_database();
END
$$;
