import { setTimeout as delay } from 'node:timers/promises';
import { syncRefusal, type Db, type ListPage, type SlotListKey, type StoredSlot, type SyncCandidate } from '@octo-sync/db';
import { availabilityPullJob, shardedKey, type JobProducer, type RedisConnection, type SupplierBudget } from '@octo-sync/jobs';
import type { Logger } from '@octo-sync/platform';
import type { PullRequests, PullScope, RequestedPull } from '@octo-sync/runs';

const DAY_MS = 86_400_000;
// How often a reader whose window's pull is being decided by another reader asks again.
const DECIDING_POLL_MS = 10;
// A window's decision in Redis: being made, refused (past the share), or the pull job to wait for.
const DECIDING = 'deciding';
const REFUSED = 'refused';
const JOB = 'job:';

/** `FRESH_READ_*`: how long a read waits for its pull, and the share of the supplier budget such pulls may spend. */
export interface FreshReadSettings {
  waitMs: number;
  budgetShare: number;
}

/** A freshness-bounded read of slots, as its query string parses. */
export interface FreshReadQuery {
  productId: string;
  optionId?: string;
  from: Date;
  to: Date;
  maxAgeS: number;
  page: number;
  pageSize: number;
  after?: SlotListKey;
}

/** The integration a read is of: whether it may pull, and its supplier budget. */
export type FreshReadIntegration = SyncCandidate & { id: string; supplierRequestsPerSecond: number };

/** A page of slots and whether every slot on it (or, on an empty page, the window) was confirmed within the bound. */
export interface FreshPage {
  page: ListPage<StoredSlot, SlotListKey>;
  fresh: boolean;
}

/**
 * The pull a read asks for: its product (and option) over the local dates its instants can fall
 * on, a day wider each side (the gateway does not know the product's time zone). Whole local days
 * from the instants' UTC dates only, so every reader of one window asks for the same scope and
 * joins one pull.
 */
type PullWindow = PullScope & { productId: string; from: string; to: string };

function pullWindow(query: FreshReadQuery): PullWindow {
  const date = (instant: Date, days: number) => new Date(Math.floor(instant.getTime() / DAY_MS) * DAY_MS + days * DAY_MS).toISOString().slice(0, 10);
  return { productId: query.productId, ...(query.optionId === undefined ? {} : { optionId: query.optionId }), from: date(query.from, -1), to: date(query.to, 1) };
}

/**
 * Freshness-bounded reads (`max_age_s`): a page whose slots were confirmed longer ago than the
 * bound joins or asks for a pull of the read's window and waits up to `waitMs` for it, then reads
 * again. Read-triggered pulls spend at most `budgetShare` of the supplier's budget
 * (`SupplierBudget.takeShare`); readers of one window share one admission, so concurrent readers
 * share one pull and never amplify load on the supplier.
 */
export class FreshReads {
  constructor(
    private readonly deps: { db: Db; producer: JobProducer; pulls: PullRequests; budget: Pick<SupplierBudget, 'takeShare'>; redis: RedisConnection; queuePrefix: string; settings: FreshReadSettings },
  ) {}

  async read(integration: FreshReadIntegration, query: FreshReadQuery, requestId: string, log: Logger): Promise<FreshPage> {
    const window = pullWindow(query);
    const first = await this.freshness(integration.id, query, window);
    if (first.fresh || syncRefusal(integration, 'refresh') !== undefined) return first;
    const job = await this.pullFor(integration, window, requestId, log);
    if (job === undefined) return first;
    await this.deps.producer.waitFor(job, this.deps.settings.waitMs);
    return this.freshness(integration.id, query, window);
  }

  private async freshness(integrationId: string, query: FreshReadQuery, window: PullWindow): Promise<FreshPage> {
    const page = await this.deps.db.catalogRead.listSlots(integrationId, query);
    const since = new Date(Date.now() - query.maxAgeS * 1000);
    const fresh = page.items.length > 0 ? page.items.every((slot) => slot.confirmed_at >= since) : await this.deps.db.catalogRead.windowAnsweredSince(integrationId, window, since);
    return { page, fresh };
  }

  /**
   * The pull job a stale read waits for; undefined when past the budget's share (or when the pull
   * is gone already). The first reader of a window decides (a token of the share, then the pull,
   * joining one of that scope already queued or running) and records the job for `waitMs`;
   * readers of the window meanwhile wait for that decision and then for the same job, so
   * concurrent readers make one pull and spend its calls once.
   */
  private async pullFor(integration: FreshReadIntegration, window: PullWindow, requestId: string, log: Logger): Promise<RequestedPull['job'] | undefined> {
    const { redis, queuePrefix, settings, budget, pulls, producer } = this.deps;
    const key = shardedKey(queuePrefix, 'fresh-read', integration.id, JSON.stringify([window.productId, window.optionId ?? null, window.from, window.to]));
    const holdMs = Math.max(settings.waitMs, 1_000);
    const deadline = Date.now() + settings.waitMs;
    for (;;) {
      if ((await redis.set(key, DECIDING, 'PX', holdMs, 'NX')) === 'OK') {
        // The pull calls the supplier once per option: the share is spent by calls, not by pulls.
        const calls = await this.deps.db.catalogRead.activeOptionCount(integration.id, window.productId, window.optionId);
        const granted = calls > 0 && (await budget.takeShare(integration.id, integration.supplierRequestsPerSecond, settings.budgetShare, calls));
        if (!granted) {
          await redis.set(key, REFUSED, 'PX', holdMs);
          return undefined;
        }
        const { runId, created, job } = await pulls.request(integration, 'refresh', window, requestId, { joinRunning: true });
        log.info({ integrationId: integration.id, runId, joined: !created }, 'fresh read pull requested');
        await redis.set(key, `${JOB}${job.id}`, 'PX', holdMs);
        return job;
      }
      const decision = await redis.get(key);
      if (decision === REFUSED) return undefined;
      if (decision?.startsWith(JOB)) return producer.queue(availabilityPullJob.queue).getJob(decision.slice(JOB.length));
      if (Date.now() >= deadline) return undefined;
      // Being decided (a script call and a run request away), or lapsed just now (null: the next turn decides).
      if (decision === DECIDING) await delay(DECIDING_POLL_MS);
    }
  }
}
