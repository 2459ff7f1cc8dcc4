import { AppError } from '@octo-sync/platform';
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
export interface RunCounts {
  products: EntityCounts;
  options: EntityCounts;
  units: EntityCounts;
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
  payloadDigest: string;
  counts: RunCounts | null;
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
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * `joinRunning`: also join a run that is already running (for requests that any run will satisfy,
   * such as the availability fallback), instead of queueing a follow-up behind it.
   */
  async requestRun(
    integrationId: string,
    trigger: RunTrigger,
    options: { force?: boolean; joinRunning?: boolean } = {},
  ): Promise<{ runId: string; created: boolean; startedBefore: boolean }> {
    const force = options.force ?? false;
    return this.prisma.$transaction(async (tx) => {
      // Serialises requests for one integration (not its sync writes, which hold the row lock).
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`run-request:${integrationId}`}, 0))`;
      const queued = await tx.syncRun.findFirst({
        where: { integrationId, status: { in: options.joinRunning ? ['queued', 'running'] : ['queued'] } },
        orderBy: { queuedAt: 'asc' },
        select: { id: true, force: true, attempts: true },
      });
      if (queued) {
        if (force && !queued.force) await tx.syncRun.update({ where: { id: queued.id }, data: { force: true } });
        return { runId: queued.id, created: false, startedBefore: queued.attempts > 0 };
      }
      const run = await tx.syncRun.create({ data: { integrationId, trigger, force }, select: { id: true } });
      return { runId: run.id, created: true, startedBefore: false };
    });
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
