/** A `sync_runs` row in the shape Prisma gives it, so a run read back from raw SQL is the same object. */
export const SYNC_RUN_COLUMNS = `id, integration_id AS "integrationId", trigger, status, force, attempts, queued_at AS "queuedAt",
  kind, schedule_tick AS "scheduleTick", started_at AS "startedAt", finished_at AS "finishedAt", duration_ms AS "durationMs",
  payload_bytes AS "payloadBytes", hash, counts, warnings, synced, error_code AS "errorCode", error_message AS "errorMessage",
  request_ids AS "requestIds", product_ids AS "productIds", pull_scope AS "pullScope", hint_targets AS "hintTargets", throttled_ms AS "throttledMs"`;
