import type { Pool } from 'pg';
import type { PrismaClient } from '../client';
import type { SyncRun } from '../generated/prisma/client';
import { requestHintRun, type HintTarget } from './hint-runs';
import { abandonRun } from './run-abandon';
import { claimRun, type ClaimResult } from './run-claim';
import { SYNC_RUN_COLUMNS } from './run-columns';

export { SYNC_RUN_COLUMNS };
import { addRequestIds, findQueuedRun, requestRun, type QueuedRun, type RequestedRun, type RunRequestOptions } from './run-requests';
import { pruneSyncRuns, type PruneBudget, type SyncRunRetention } from './sync-run-retention';
import { StaleRunError, fenceCheckOf, inFencedTransaction, type FencedRun, type RunTx, type StatementPart } from './run-fence';

export type { SyncRun };
export type RunTrigger = 'schedule' | 'webhook' | 'admin' | 'availability_fallback' | 'health_recovery' | 'refresh';
/** What a run does: read the catalog, or pull the availability snapshot. */
export type RunKind = 'catalog' | 'availability_pull';

export interface EntityCounts {
  created: number;
  updated: number;
  unchanged: number;
  removed: number;
}
/**
 * Products also count those quarantined (kept as stored because they could not be stored as sent)
 * and those remapped (a supplier re-keyed them, matched 1:1: counted neither created nor removed).
 */
export interface ProductCounts extends EntityCounts {
  quarantined: number;
  remapped?: number;
}
export interface RunCounts {
  products: ProductCounts;
  options: EntityCounts;
  units: EntityCounts;
}

/** Something a run could not take as sent, such as a quarantined product (`product_id` null: it had none). */
export interface RunWarning {
  product_id: string | null;
  path: string;
  reason: string;
}
/** A run's warnings as stored: the first ones, and how many more were left out. */
export interface RunWarnings {
  items: RunWarning[];
  omitted: number;
}

export type { ClaimResult };

/** How a run ended well: written, or skipped because nothing changed. */
export interface RunOutcome {
  status: 'succeeded' | 'skipped';
  payloadBytes: number;
  /** The catalog's hash after the run (null: none yet, a targeted run before any full one). */
  hash: string | null;
  /** Null makes the next run parse the catalog even if its bytes are the same. */
  payloadDigest: string | null;
  counts: RunCounts | null;
  warnings: RunWarnings | null;
  synced: number;
  /** Whether catalog rows were written (only then does `last_sync_at` move). */
  wroteCatalog: boolean;
  /** The language the catalog rows' content is now in (the first locale's answer); absent: as it was. */
  catalogLocale?: string;
}

export interface RunFailure {
  code: string;
  message: string;
  /** No further attempt will be made: the run is `failed`. Otherwise it goes back to `queued`. */
  final: boolean;
  payloadBytes?: number;
}

/**
 * The sync-run lifecycle, and the rules that keep one integration's runs in single file:
 *
 * - `requestRun` coalesces: while a run is queued, every further request joins it, so a trigger
 *   that arrives during a run yields exactly one follow-up run.
 * - `claim` lets a run start only when no other run of its flight is running, and bumps the
 *   flight's fence: a catalog run's flight is the integration, a pull's its integration and pull
 *   scope (pull-flight.ts), so pulls and catalog runs never wait for each other.
 *   `withFence` (catalog) and `withPullFence` open the write transaction only for the holder of
 *   the current fence. A worker that stalls past its lock and wakes up after another worker took
 *   the run over is thereby refused by the database, never interleaved.
 * - Every write of a claimed run goes through its fence: its catalog or slots, `finish` and `fail`.
 */
export class SyncRunStore {
  /** `pool`: the `pg` pool Prisma runs on, for the hot-path reads. */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
  ) {}

  /** Records a request for a run, joining a queued one when it covers it: see {@link requestRun}. */
  requestRun(integrationId: string, trigger: RunTrigger, options: RunRequestOptions = {}): Promise<RequestedRun> {
    return requestRun(this.prisma, integrationId, trigger, options);
  }

  /** Records change hints for a pull, joining the queued hint run when its job may run and they fit: see {@link requestHintRun}. */
  requestHintRun(integrationId: string, hints: readonly HintTarget[], requestIds: readonly string[], mayRun: (runId: string) => Promise<boolean>): Promise<{ runId: string; created: boolean }> {
    return requestHintRun(this.prisma, integrationId, hints, requestIds, mayRun);
  }

  /** The integration's oldest queued catalog run, read without a lock: see {@link findQueuedRun}. */
  findQueuedRun(integrationId: string): Promise<QueuedRun | null> {
    return findQueuedRun(this.pool, integrationId);
  }

  /** Records gateway requests that joined a run: see {@link addRequestIds}. */
  addRequestIds(runId: string, requestIds: readonly string[]): Promise<void> {
    return addRequestIds(this.pool, runId, requestIds);
  }

  /** Claims a run, or says why not: see {@link claimRun}. */
  claim(runId: string, abandonAfterMs: number): Promise<ClaimResult> {
    return claimRun(this.prisma, runId, abandonAfterMs);
  }

  /**
   * Runs `fn` in a transaction that holds the integration's row lock, after checking that `fence`
   * is still current: everything `fn` writes commits together or not at all, and a stale fence
   * throws `STALE_RUN`. `fn` gets SQL only ({@link RunTx}). Record the run's end inside it with
   * {@link finish}.
   */
  withFence<T>(integrationId: string, fence: bigint, fn: (tx: RunTx) => Promise<T>, timeoutMs: number): Promise<T> {
    return inFencedTransaction(this.prisma, fenceCheckOf({ integrationId, kind: 'catalog', pullScope: null }), fence, timeoutMs, fn);
  }

  /** {@link withFence} for a pull: the transaction holds the row lock of the run's pull flight and checks its fence. */
  withPullFence<T>(run: Pick<SyncRun, 'integrationId' | 'pullScope'>, fence: bigint, fn: (tx: RunTx) => Promise<T>, timeoutMs: number): Promise<T> {
    return inFencedTransaction(this.prisma, fenceCheckOf({ ...run, kind: 'availability_pull' }), fence, timeoutMs, fn);
  }

  /**
   * Records a finished run and the integration's sync state, on the connection of
   * {@link withFence}, in one statement with `also` (another store's write, when given); returns
   * the run as it now stands.
   */
  async finish(client: RunTx, run: Pick<SyncRun, 'id' | 'integrationId' | 'startedAt'>, outcome: RunOutcome, also?: StatementPart): Promise<SyncRun> {
    const now = new Date();
    const values = [
      run.id,
      outcome.status,
      now,
      elapsed(run.startedAt, now),
      outcome.payloadBytes,
      outcome.hash,
      outcome.counts === null ? null : JSON.stringify(outcome.counts),
      outcome.synced,
      outcome.warnings === null ? null : JSON.stringify(outcome.warnings),
      run.integrationId,
      outcome.payloadDigest,
      outcome.wroteCatalog,
      outcome.catalogLocale ?? null,
    ];
    const sql = also === undefined ? FINISH_CATALOG_RUN : finishCatalogRun(also.sql(values.length + 1));
    const finished = await client.query<SyncRun>(sql, [...values, ...(also?.values ?? [])]);
    const row = finished.rows[0];
    if (row === undefined) throw new Error(`sync run ${run.id} vanished while it was finished`);
    return row;
  }

  /** Records a finished availability pull (counts, per-option errors) on {@link withPullFence}'s connection; no catalog state. */
  async finishPull(client: RunTx, run: Pick<SyncRun, 'id' | 'startedAt'>, counts: object, warnings: RunWarnings | null): Promise<SyncRun> {
    const now = new Date();
    const { rows } = await client.query<SyncRun>(FINISH_RUN, [run.id, 'succeeded', now, elapsed(run.startedAt, now), null, null, JSON.stringify(counts), 0, warnings && JSON.stringify(warnings)]);
    if (rows[0] === undefined) throw new Error(`sync run ${run.id} vanished while it was finished`);
    return rows[0];
  }

  /** Records a failed attempt, under the fence of the run's flight. Returns false (and writes nothing) when the run lost it. */
  async fail(run: Pick<SyncRun, 'id' | 'startedAt'> & FencedRun, fence: bigint, failure: RunFailure): Promise<boolean> {
    try {
      await inFencedTransaction(
        this.prisma,
        fenceCheckOf(run),
        fence,
        FAIL_TIMEOUT_MS,
        async (client) => {
          const now = new Date();
          if (run.kind === 'catalog') await client.query(FAIL_INTEGRATION, [run.integrationId, now, failure.code, failure.message]);
          await client.query(FAIL_RUN, [
            run.id,
            failure.final ? 'failed' : 'queued',
            failure.final ? now : null,
            failure.final ? elapsed(run.startedAt, now) : null,
            failure.code,
            failure.message,
            failure.payloadBytes ?? null,
          ]);
        },
      );
      return true;
    } catch (err) {
      if (err instanceof StaleRunError) return false;
      throw err;
    }
  }

  /**
   * A run whose supplier is throttling it gives its worker slot back: it goes back to `queued`
   * under its fence, its claim's attempt given back (a throttled wait spends none), with the time
   * its calls waited so far.
   */
  async yieldThrottled(run: Pick<SyncRun, 'id'> & FencedRun, fence: bigint, throttledMs: number): Promise<void> {
    await inFencedTransaction(this.prisma, fenceCheckOf(run), fence, FAIL_TIMEOUT_MS, (client) => client.query(YIELD_THROTTLED, [run.id, Math.round(throttledMs)]));
  }

  /** Records how long a run's calls waited on a slowed supplier budget (`throttled_ms`). */
  async recordThrottled(runId: string, throttledMs: number): Promise<void> {
    await this.pool.query('UPDATE sync_runs SET throttled_ms = $2 WHERE id = $1::uuid', [runId, Math.round(throttledMs)]);
  }

  /** Records a run whose job the queue gave up on (it stalled too often) as abandoned: see {@link abandonRun}. */
  abandon(runId: string): Promise<boolean> {
    return abandonRun(this.prisma, runId);
  }

  findRun(runId: string): Promise<SyncRun | null> {
    return this.prisma.syncRun.findUnique({ where: { id: runId } });
  }

  /**
   * Of an integration's `within` most recent runs (any kind), the newest that got anywhere: its
   * error code or duration is set (finished, or failed an attempt). Null when none did. One row
   * of two columns on the pool: the slow lane asks before every catalog run.
   */
  async lastSettledRun(integrationId: string, within: number): Promise<Pick<SyncRun, 'errorCode' | 'durationMs'> | null> {
    const { rows } = await this.pool.query<Pick<SyncRun, 'errorCode' | 'durationMs'>>(LAST_SETTLED_RUN, [integrationId, within]);
    return rows[0] ?? null;
  }

  /** The most recent runs of an integration, newest first; of one kind when `kind` is given. */
  listRuns(integrationId: string, limit: number, kind?: RunKind): Promise<SyncRun[]> {
    return this.prisma.syncRun.findMany({ where: { integrationId, ...(kind === undefined ? {} : { kind }) }, orderBy: { queuedAt: 'desc' }, take: limit });
  }

  /** Retention: deletes finished runs of one kind past it, keeping each integration's newest ({@link pruneSyncRuns}). */
  prune(retention: SyncRunRetention, budget: PruneBudget): Promise<number> {
    return pruneSyncRuns(this.prisma, retention, budget);
  }
}

function elapsed(startedAt: Date | null, now: Date): number | null {
  return startedAt ? now.getTime() - startedAt.getTime() : null;
}

/** Recording a failure is two small updates: this bounds the wait for the flight's row lock. */
const FAIL_TIMEOUT_MS = 10_000;

// A null `counts` keeps what the run had; $1 run id, $2 status, $3 now, then the outcome.
const FINISH_RUN = `
UPDATE sync_runs SET status = $2::"RunStatus", finished_at = $3, duration_ms = $4, payload_bytes = $5, hash = $6,
  counts = COALESCE($7::jsonb, counts), synced = $8, error_code = NULL, error_message = NULL, warnings = $9::jsonb
WHERE id = $1::uuid
RETURNING ${SYNC_RUN_COLUMNS}`;

// The run's end and the integration's sync state in one statement (one round trip in the fenced
// transaction), with another store's write (`also`) when given: $1…$9 as FINISH_RUN, $10
// integration id, $11 payload digest, $12 whether catalog rows were written, $13 the catalog's
// language (NULL keeps it), then `also`'s.
const finishCatalogRun = (also?: string) => `
WITH integration AS (
  UPDATE integrations SET sync_status = 'idle', last_checked_at = $3, last_sync_hash = $6, last_payload_digest = $11,
    sync_error_code = NULL, sync_error_message = NULL, last_sync_at = CASE WHEN $12 THEN $3 ELSE last_sync_at END, updated_at = $3,
    catalog_locale = COALESCE($13::text, catalog_locale)
  WHERE id = $10::uuid
)${also === undefined ? '' : `,\nalso AS (${also})`}
${FINISH_RUN.trim()}`;
const FINISH_CATALOG_RUN = finishCatalogRun();

const FAIL_INTEGRATION = `
UPDATE integrations SET sync_status = 'error', sync_error_code = $3, sync_error_message = $4, updated_at = $2
WHERE id = $1::uuid`;

const YIELD_THROTTLED = `
UPDATE sync_runs SET status = 'queued', attempts = GREATEST(attempts - 1, 0), throttled_ms = $2
WHERE id = $1::uuid AND status = 'running'`;

// A failure that is not final sends the run back to `queued` for the next attempt.
const FAIL_RUN = `
UPDATE sync_runs SET status = $2::"RunStatus", finished_at = $3, duration_ms = $4, error_code = $5, error_message = $6,
  payload_bytes = COALESCE($7, payload_bytes)
WHERE id = $1::uuid`;

// The same rows and order as `listRuns(integrationId, within)`, then the first that got anywhere.
const LAST_SETTLED_RUN = `
SELECT error_code AS "errorCode", duration_ms AS "durationMs"
FROM (SELECT error_code, duration_ms, queued_at FROM sync_runs WHERE integration_id = $1::uuid ORDER BY queued_at DESC LIMIT $2) recent
WHERE error_code IS NOT NULL OR duration_ms IS NOT NULL
ORDER BY queued_at DESC LIMIT 1`;
