-- A hint run's targets move out of its pull scope into their own column: the scope is its pull
-- flight's key (the pull_flights primary key), so it must be short and must not change while the
-- run is queued, whereas hints keep widening the targets until the run is claimed. Hint runs made
-- before keep their targets and get their fixed key ["hints","<run id>"].
ALTER TABLE "sync_runs" ADD COLUMN "hint_targets" JSONB;
UPDATE "sync_runs" SET "hint_targets" = ("pull_scope"::jsonb) -> 'hints', "pull_scope" = '["hints","' || "id"::text || '"]'
WHERE "pull_scope" LIKE '{"hints":%';
