-- A run's claim in one autocommit statement (packages/db/src/runs/run-claim.ts): it was an
-- interactive transaction of BEGIN, the flight's row lock, the claim and COMMIT, each a round trip
-- with the session idle in transaction while the worker's event loop came back to send the next.
--
-- The flight's row lock first: the integration's row for a catalog run (`flight` NULL), else the
-- run's `pull_flights` row (`flight`: its scope, '' for a whole pull), created the first time (the
-- conflict clause locks a row another claim created meanwhile, so the lock is held either way).
-- Then the claim, whose snapshot is taken after the lock: a VOLATILE plpgsql function takes a
-- fresh snapshot for each statement under READ COMMITTED, so it sees every claim that committed
-- while it waited (one statement that took the lock in a CTE would read the runs as they were
-- when it began, and start a second run beside the one its lock's holder claimed). The run starts unless it finished meanwhile or another run of its flight (the
-- integration's catalog runs, or its pulls whose COALESCE(pull_scope, '') is `flight`) is running
-- and not abandoned (started within `abandon_after_ms`). Other running runs of the flight are
-- closed as abandoned (`abandoned_code`, `abandoned_message`) and the flight's fence bumped.
-- Times are clock_timestamp(), not now(): the statement began before it waited for the lock, and a
-- run must not seem to start before the one it waited for finished.
--
-- Returns one row: the claimed run (NULL when not claimed), the run's status before the claim,
-- the blocking run's id, and the fence the claim took (NULL when not claimed).
CREATE FUNCTION sync_run_claim(run uuid, integration uuid, flight text, abandon_after_ms float8, abandoned_code text, abandoned_message text)
  RETURNS TABLE (claimed_run sync_runs, run_status text, blocking_run text, claim_fence text)
  LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF flight IS NULL THEN
    PERFORM 1 FROM integrations WHERE id = integration FOR NO KEY UPDATE;
  ELSE
    WITH locked AS (SELECT 1 FROM pull_flights WHERE integration_id = integration AND scope = flight FOR NO KEY UPDATE)
    INSERT INTO pull_flights (integration_id, scope) SELECT integration, flight WHERE NOT EXISTS (SELECT 1 FROM locked)
    ON CONFLICT (integration_id, scope) DO UPDATE SET fence = pull_flights.fence;
  END IF;
  RETURN QUERY
  WITH cur AS (SELECT r.status::text AS status FROM sync_runs r WHERE r.id = run),
  others AS (
    SELECT r.id, r.started_at FROM sync_runs r
    WHERE r.integration_id = integration AND r.status = 'running' AND r.id <> run
      AND CASE WHEN flight IS NULL THEN r.kind = 'catalog' ELSE r.kind = 'availability_pull' AND COALESCE(r.pull_scope, '') = flight END
  ),
  live AS (SELECT o.id FROM others o WHERE o.started_at > clock_timestamp() - make_interval(secs => abandon_after_ms / 1000) ORDER BY o.started_at LIMIT 1),
  go AS (SELECT 1 FROM cur WHERE cur.status NOT IN ('succeeded', 'skipped', 'failed') AND NOT EXISTS (SELECT 1 FROM live)),
  abandoned AS (
    UPDATE sync_runs r SET status = 'failed', finished_at = clock_timestamp(), error_code = abandoned_code, error_message = abandoned_message
    WHERE r.id IN (SELECT o.id FROM others o) AND EXISTS (SELECT 1 FROM go)
  ),
  fenced_catalog AS (
    UPDATE integrations i SET sync_fence = i.sync_fence + 1, updated_at = clock_timestamp(), sync_status = 'syncing'
    WHERE flight IS NULL AND i.id = integration AND EXISTS (SELECT 1 FROM go)
    RETURNING i.sync_fence AS fence
  ),
  fenced_pull AS (
    UPDATE pull_flights f SET fence = nextval('pull_flights_fence_seq'), claimed_at = clock_timestamp()
    WHERE f.integration_id = integration AND f.scope = flight AND EXISTS (SELECT 1 FROM go)
    RETURNING f.fence
  ),
  claimed AS (
    UPDATE sync_runs r SET status = 'running', started_at = clock_timestamp(), attempts = r.attempts + 1
    WHERE r.id = run AND EXISTS (SELECT 1 FROM go)
    RETURNING r AS run_row
  )
  SELECT c.run_row, (SELECT cur.status FROM cur), (SELECT live.id::text FROM live),
    COALESCE((SELECT fc.fence FROM fenced_catalog fc), (SELECT fp.fence FROM fenced_pull fp))::text
  FROM (SELECT 1) one LEFT JOIN claimed c ON true;
END
$$;
