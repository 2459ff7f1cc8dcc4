import { AppError, asError } from '@octo-sync/platform';
import type { Pool, PoolClient } from 'pg';
import type { PrismaClient } from './client';
import type { Integration, Prisma, SyncRun } from './generated/prisma/client';

export type { SyncRun };
export type RunTrigger = 'schedule' | 'webhook' | 'admin' | 'availability_fallback' | 'health_recovery';
export type Tx = Prisma.TransactionClient;

export interface EntityCounts {
  created: number;
  updated: number;
  unchanged: number;
  removed: number;
}
/** Products also count those quarantined: kept as stored because they could not be stored as sent. */
export interface ProductCounts extends EntityCounts {
  quarantined: number;
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

export type ClaimResult =
  | { kind: 'claimed'; fence: bigint; run: SyncRun; integration: Integration }
  | { kind: 'busy'; blockingRunId: string }
  | { kind: 'finished'; run: SyncRun }
  | { kind: 'missing' };

/** A run lost its fence: another run of the same integration started after it (see `claim`). */
export class StaleRunError extends AppError {
  constructor() {
    super('STALE_RUN', 'a newer run of this integration took over; this run wrote nothing');
  }
}

export interface RunOutcome {
  status: 'succeeded' | 'skipped';
  payloadBytes: number;
  hash: string;
  /** Null makes the next run parse the catalog even if its bytes are the same. */
  payloadDigest: string | null;
  counts: RunCounts | null;
  warnings: RunWarnings | null;
  synced: number;
  /** Whether catalog rows were written (only then does `last_sync_at` move). */
  wroteCatalog: boolean;
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
 * - `claim` lets a run start only when no other run of the integration is running, and bumps the
 *   integration's fence; `withFence` opens the write transaction only for the holder of the
 *   current fence. A worker that stalls past its lock and wakes up after another worker took the
 *   run over is thereby refused by the database, never interleaved.
 */
export class SyncRunStore {
  /** `pool`: the `pg` pool Prisma runs on, for {@link withFenceClient}. */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool?: Pool,
  ) {}

  /**
   * `joinRunning`: also join a run that is already running (for requests that any run will satisfy,
   * such as the availability fallback), instead of queueing a follow-up behind it.
   * `scheduleTick`: the scheduler tick requesting the run, recorded on a run this call creates.
   */
  async requestRun(
    integrationId: string,
    trigger: RunTrigger,
    options: { force?: boolean; joinRunning?: boolean; scheduleTick?: Date } = {},
  ): Promise<{ runId: string; created: boolean; startedBefore: boolean; trigger: RunTrigger }> {
    const force = options.force ?? false;
    return this.prisma.$transaction(async (tx) => {
      // Serialises requests for one integration (not its sync writes, which hold the row lock).
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`run-request:${integrationId}`}, 0))`;
      const queued = await tx.syncRun.findFirst({
        where: { integrationId, status: { in: options.joinRunning ? ['queued', 'running'] : ['queued'] } },
        orderBy: { queuedAt: 'asc' },
        select: { id: true, force: true, attempts: true, trigger: true },
      });
      if (queued) {
        if (force && !queued.force) await tx.syncRun.update({ where: { id: queued.id }, data: { force: true } });
        return { runId: queued.id, created: false, startedBefore: queued.attempts > 0, trigger: queued.trigger };
      }
      const run = await tx.syncRun.create({ data: { integrationId, trigger, force, scheduleTick: options.scheduleTick ?? null }, select: { id: true } });
      return { runId: run.id, created: true, startedBefore: false, trigger };
    });
  }

  /**
   * The integration's oldest `queued` run, read without `requestRun`'s lock or transaction: a
   * caller that would join it anyway (no `force` to record) can skip the lock, because joining
   * needs no serialisation (only creating a run does), and a run seen queued now has not started
   * its fetch yet. Null when none is queued: then call `requestRun`.
   */
  async findQueuedRun(integrationId: string): Promise<{ runId: string; force: boolean; startedBefore: boolean; trigger: RunTrigger } | null> {
    // On the webhook hot path: one plain statement on the pool, without Prisma's query planning.
    const { rows } = await this.requirePool().query<{ id: string; force: boolean; attempts: number; trigger: RunTrigger }>(
      `SELECT id, force, attempts, trigger FROM sync_runs WHERE integration_id = $1::uuid AND status = 'queued' ORDER BY queued_at LIMIT 1`,
      [integrationId],
    );
    const queued = rows[0];
    return queued ? { runId: queued.id, force: queued.force, startedBefore: queued.attempts > 0, trigger: queued.trigger } : null;
  }

  private requirePool(): Pool {
    if (this.pool === undefined) throw new Error('SyncRunStore was built without a pg pool');
    return this.pool;
  }

  async claim(runId: string, abandonAfterMs: number): Promise<ClaimResult> {
    const run = await this.prisma.syncRun.findUnique({ where: { id: runId } });
    if (!run) return { kind: 'missing' };
    if (isFinished(run)) return { kind: 'finished', run };
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM integrations WHERE id = ${run.integrationId}::uuid FOR UPDATE`;
      const current = await tx.syncRun.findUniqueOrThrow({ where: { id: runId } });
      if (isFinished(current)) return { kind: 'finished', run: current } as const;
      const others = await tx.syncRun.findMany({
        where: { integrationId: run.integrationId, status: 'running', id: { not: runId } },
        select: { id: true, startedAt: true },
      });
      const abandonedBefore = Date.now() - abandonAfterMs;
      const live = others.find((o) => (o.startedAt?.getTime() ?? 0) > abandonedBefore);
      if (live) return { kind: 'busy', blockingRunId: live.id } as const;
      if (others.length > 0) {
        // Their worker and job are gone (nothing renewed them for abandonAfterMs): close them.
        await tx.syncRun.updateMany({
          where: { id: { in: others.map((o) => o.id) } },
          data: { status: 'failed', finishedAt: new Date(), errorCode: 'RUN_ABANDONED', errorMessage: 'the run stopped without finishing and was abandoned' },
        });
      }
      const integration = await tx.integration.update({
        where: { id: run.integrationId },
        data: { syncFence: { increment: 1 }, syncStatus: 'syncing' },
      });
      const claimed = await tx.syncRun.update({
        where: { id: runId },
        data: { status: 'running', startedAt: new Date(), attempts: { increment: 1 } },
      });
      return { kind: 'claimed', fence: integration.syncFence, run: claimed, integration } as const;
    });
  }

  /**
   * Runs `fn` in a transaction that holds the integration's row lock, after checking that `fence`
   * is still current. Everything `fn` writes commits together or not at all.
   */
  async withFence<T>(integrationId: string, fence: bigint, fn: (tx: Tx) => Promise<T>, timeoutMs: number): Promise<T> {
    return this.prisma.$transaction(
      async (tx) => {
        const rows = await tx.$queryRaw<Array<{ sync_fence: bigint }>>`
          SELECT sync_fence FROM integrations WHERE id = ${integrationId}::uuid FOR UPDATE`;
        if (rows[0]?.sync_fence !== fence) throw new StaleRunError();
        return fn(tx);
      },
      { timeout: timeoutMs, maxWait: 10_000 },
    );
  }

  /**
   * {@link withFence} on a raw `pg` connection (for COPY), same rules: BEGIN, the integration's
   * row lock and fence check, `fn`, COMMIT; anything thrown (or the deadline) rolls it all back.
   * Inside it, record the run's end with {@link finishClient}.
   */
  async withFenceClient<T>(integrationId: string, fence: bigint, fn: (client: PoolClient) => Promise<T>, timeoutMs: number): Promise<T> {
    const client = await this.requirePool().connect();
    // Set once the connection cannot be trusted: Postgres closed it (an 'error' event, which would
    // end the process if nobody listened), the deadline passed mid-statement, or ROLLBACK failed.
    // Released with it, the client is closed by the pool, and closing rolls back what was open.
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken ??= err;
    };
    client.on('error', onError);
    let timer: NodeJS.Timeout | undefined;
    try {
      await client.query('BEGIN');
      // The deadline bounds each statement in Postgres as well as the whole transaction here.
      await client.query(`SELECT set_config('statement_timeout', $1, true)`, [String(timeoutMs)]);
      const rows = await client.query<{ sync_fence: string }>('SELECT sync_fence::text FROM integrations WHERE id = $1::uuid FOR UPDATE', [integrationId]);
      const current = rows.rows[0]?.sync_fence;
      if (current === undefined || BigInt(current) !== fence) throw new StaleRunError();
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          const exceeded = new Error(`catalog write transaction exceeded ${timeoutMs} ms`);
          broken ??= exceeded;
          reject(exceeded);
        }, timeoutMs);
      });
      const result = await Promise.race([fn(client), deadline]);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      if (broken === undefined) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = asError(rollbackError);
        }
      }
      throw err;
    } finally {
      clearTimeout(timer);
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** {@link finish} on the raw connection of {@link withFenceClient}: the same two updates. */
  async finishClient(client: PoolClient, run: Pick<SyncRun, 'id' | 'integrationId' | 'startedAt'>, outcome: RunOutcome): Promise<void> {
    const now = new Date();
    await client.query(
      `UPDATE integrations SET sync_status = 'idle', last_checked_at = $2, last_sync_hash = $3, last_payload_digest = $4,
         sync_error_code = NULL, sync_error_message = NULL, last_sync_at = CASE WHEN $5 THEN $2 ELSE last_sync_at END, updated_at = $2
       WHERE id = $1::uuid`,
      [run.integrationId, now, outcome.hash, outcome.payloadDigest, outcome.wroteCatalog],
    );
    await client.query(
      `UPDATE sync_runs SET status = $2::"RunStatus", finished_at = $3, duration_ms = $4, payload_bytes = $5, hash = $6,
         counts = COALESCE($7::jsonb, counts), synced = $8, error_code = NULL, error_message = NULL, warnings = $9::jsonb
       WHERE id = $1::uuid`,
      [
        run.id,
        outcome.status,
        now,
        elapsed(run.startedAt, now),
        outcome.payloadBytes,
        outcome.hash,
        outcome.counts === null ? null : JSON.stringify(outcome.counts),
        outcome.synced,
        outcome.warnings === null ? null : JSON.stringify(outcome.warnings),
      ],
    );
  }

  /** Records a finished run and the integration's sync state; call inside `withFence`. */
  async finish(tx: Tx, run: Pick<SyncRun, 'id' | 'integrationId' | 'startedAt'>, outcome: RunOutcome): Promise<SyncRun> {
    const now = new Date();
    await tx.integration.update({
      where: { id: run.integrationId },
      data: {
        syncStatus: 'idle',
        lastCheckedAt: now,
        lastSyncHash: outcome.hash,
        lastPayloadDigest: outcome.payloadDigest,
        syncErrorCode: null,
        syncErrorMessage: null,
        ...(outcome.wroteCatalog ? { lastSyncAt: now } : {}),
      },
    });
    return tx.syncRun.update({
      where: { id: run.id },
      data: {
        status: outcome.status,
        finishedAt: now,
        durationMs: elapsed(run.startedAt, now),
        payloadBytes: outcome.payloadBytes,
        hash: outcome.hash,
        counts: outcome.counts === null ? undefined : (outcome.counts as unknown as Prisma.InputJsonValue),
        warnings: outcome.warnings === null ? undefined : (outcome.warnings as unknown as Prisma.InputJsonValue),
        synced: outcome.synced,
        errorCode: null,
        errorMessage: null,
      },
    });
  }

  /** Records a failed attempt. Returns false (and writes nothing) when the run lost its fence. */
  async fail(run: Pick<SyncRun, 'id' | 'integrationId' | 'startedAt'>, fence: bigint, failure: RunFailure): Promise<boolean> {
    try {
      await this.withFence(
        run.integrationId,
        fence,
        async (tx) => {
          const now = new Date();
          await tx.integration.update({
            where: { id: run.integrationId },
            data: { syncStatus: 'error', syncErrorCode: failure.code, syncErrorMessage: failure.message },
          });
          await tx.syncRun.update({
            where: { id: run.id },
            data: {
              status: failure.final ? 'failed' : 'queued',
              finishedAt: failure.final ? now : null,
              durationMs: failure.final ? elapsed(run.startedAt, now) : null,
              errorCode: failure.code,
              errorMessage: failure.message,
              ...(failure.payloadBytes === undefined ? {} : { payloadBytes: failure.payloadBytes }),
            },
          });
        },
        10_000,
      );
      return true;
    } catch (err) {
      if (err instanceof StaleRunError) return false;
      throw err;
    }
  }

  /** Marks a run that never got to start (its job was given up on) as failed. */
  async abandon(runId: string, failure: Omit<RunFailure, 'final'>): Promise<void> {
    await this.prisma.syncRun.updateMany({
      where: { id: runId, status: { in: ['queued', 'running'] } },
      data: { status: 'failed', finishedAt: new Date(), errorCode: failure.code, errorMessage: failure.message },
    });
  }

  findRun(runId: string): Promise<SyncRun | null> {
    return this.prisma.syncRun.findUnique({ where: { id: runId } });
  }

  /** The most recent runs of an integration, newest first. */
  listRuns(integrationId: string, limit: number): Promise<SyncRun[]> {
    return this.prisma.syncRun.findMany({ where: { integrationId }, orderBy: { queuedAt: 'desc' }, take: limit });
  }
}

function isFinished(run: SyncRun): boolean {
  return run.status === 'succeeded' || run.status === 'skipped' || run.status === 'failed';
}

function elapsed(startedAt: Date | null, now: Date): number | null {
  return startedAt ? now.getTime() - startedAt.getTime() : null;
}
