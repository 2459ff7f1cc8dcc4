import { availabilityApplyJob, availabilityPullJob, LuaScript, shardedKey, type JobProducer, type RedisConnection } from '@octo-sync/jobs';
import type { Logger } from '@octo-sync/platform';
import { ApiError } from './errors';

/*
 * Admission control across tenants. Each integration's own budgets (notify's token bucket, the
 * webhook limits) do not bound their sum: many tenants, each within its budget, can still queue
 * more availability work than the workers drain. While the backlog of the queue a call's work
 * goes to is past a bound (the availability queue for changes, the pulls queue for refreshes and
 * change hints, which become supplier pulls), the gateway refuses availability writes of the
 * tenants that sent more than their fair share of the recent accepted work (changes, hints and
 * refreshes alike), before accepting them (an accepted change is never dropped); past a hard
 * bound it refuses every tenant's. The backlogs are read from BullMQ and each tenant's recent
 * work is kept in Redis, so every gateway decides alike.
 */

/** `ADMISSION_*`: when availability writes are shed. */
export interface AdmissionSettings {
  /** Jobs in the work's queue (waiting, prioritized, delayed) past which heavy tenants are shed. */
  backlogLimit: number;
  /** Jobs past which every tenant's availability writes are shed. */
  hardLimit: number;
  /** How far back a tenant's share of the accepted work is measured. */
  windowMs: number;
}

export type ShedReason = 'heavy_tenant' | 'backlog_hard_limit';

/** What admission tells the gateway's metrics. */
export interface AdmissionObserver {
  backlog(work: AdmittedWork, jobs: number): void;
  shed(reason: ShedReason): void;
}

/** What a call asks for: slot changes (the availability queue) or pulls (refresh, change hints: the pulls queue). */
export type AdmittedWork = 'changes' | 'pulls';

/**
 * Refuses (429, nothing accepted) or admits `units` of an integration's availability work, judged
 * by the backlog of the queue `work` goes to, counting what it admits.
 */
export type Admit = (integrationId: string, units: number, work: AdmittedWork) => Promise<void>;

const QUEUE_OF = { changes: availabilityApplyJob.queue, pulls: availabilityPullJob.queue } as const;

/** The backlog and the shares are read at most this often per gateway: a flood costs no extra Redis round trip per call. */
const SAMPLE_MS = 250;
/** Admitted work is added to Redis's shared tally at most this often per gateway. */
const FLUSH_MS = 250;
/** A tenant is heavy once its share of the recent work passes this multiple of an even share. */
const HEAVY_FACTOR = 1.5;
/** Long enough for the backlog to be read again many times; short enough not to hold a tenant back long once it drains. */
const RETRY_AFTER_S = 5;

/** Adds each (integration, units) pair of ARGV[2..] to the tally hash, which expires ARGV[1] ms after its last write. */
const TALLY_SCRIPT = new LuaScript(`for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return {}`);

/** A value read at most every {@link SAMPLE_MS} (one read in flight at a time); a failed read keeps the last value. */
class Sampled<T> {
  private readAt = -Infinity;
  private reading: Promise<T> | undefined;

  constructor(
    private value: T,
    private readonly read: () => Promise<T>,
    private readonly onError: (err: unknown) => void,
  ) {}

  get(now: number): Promise<T> {
    if (this.reading) return this.reading;
    if (now - this.readAt < SAMPLE_MS) return Promise.resolve(this.value);
    this.readAt = now;
    this.reading = this.read()
      .then(
        (value) => (this.value = value),
        (err: unknown) => {
          this.onError(err);
          return this.value;
        },
      )
      .finally(() => (this.reading = undefined));
    return this.reading;
  }
}

/**
 * Each tenant's accepted work over a sliding window, approximated by two fixed buckets (the
 * previous one weighted by how much of it the window still covers). A bucket is one Redis hash
 * (integration → units), in a slot of its own, written and read by single-key commands only.
 */
class TenantTally {
  private pending = new Map<string, number>();
  private flushedAt = 0;

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly windowMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  private keyOf(bucket: number): string {
    return shardedKey(this.prefix, 'gateway:admission', String(bucket));
  }

  add(integrationId: string, units: number, now: number): void {
    this.pending.set(integrationId, (this.pending.get(integrationId) ?? 0) + units);
    if (now - this.flushedAt < FLUSH_MS) return;
    this.flushedAt = now;
    const batch = [...this.pending].flat();
    this.pending = new Map();
    const ttlMs = 2 * this.windowMs + FLUSH_MS;
    TALLY_SCRIPT.run(this.redis, this.keyOf(Math.floor(now / this.windowMs)), [ttlMs, ...batch]).catch(this.onError);
  }

  /** Each tenant's weighted units in the window ending now. */
  async read(now: number): Promise<Map<string, number>> {
    const bucket = Math.floor(now / this.windowMs);
    const [current, previous] = await Promise.all([this.redis.hgetall(this.keyOf(bucket)), this.redis.hgetall(this.keyOf(bucket - 1))]);
    const previousWeight = 1 - (now % this.windowMs) / this.windowMs;
    const units = new Map<string, number>();
    for (const [id, n] of Object.entries(previous)) units.set(id, Number(n) * previousWeight);
    for (const [id, n] of Object.entries(current)) units.set(id, (units.get(id) ?? 0) + Number(n));
    return units;
  }
}

/** Whether a tenant sent more than {@link HEAVY_FACTOR} times an even share of the recent work (a tenant with none never is). */
function isHeavy(units: ReadonlyMap<string, number>, integrationId: string): boolean {
  const own = units.get(integrationId) ?? 0;
  if (own <= 0) return false;
  let total = 0;
  let tenants = 0;
  for (const n of units.values()) {
    if (n <= 0) continue;
    total += n;
    tenants += 1;
  }
  return own * tenants > HEAVY_FACTOR * total;
}

export interface AdmissionDeps {
  settings: AdmissionSettings;
  redis: RedisConnection;
  producer: JobProducer;
  queuePrefix: string;
  observer: AdmissionObserver;
  log: Logger;
  now?: () => number;
}

/** The gateway's admission control (one per process); its answer sheds or admits a tenant's availability write. */
export function createAdmission({ settings, redis, producer, queuePrefix, observer, log, now = Date.now }: AdmissionDeps): Admit {
  const warn = (message: string) => (err: unknown) => log.warn({ err }, message);
  const backlogOf = (work: AdmittedWork) =>
    new Sampled(
      0,
      async () => {
        const counts = await producer.queue(QUEUE_OF[work]).getJobCounts('waiting', 'prioritized', 'delayed');
        const jobs = (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0);
        observer.backlog(work, jobs);
        return jobs;
      },
      warn(`could not read the ${QUEUE_OF[work]} queue's backlog; admitting as before`),
    );
  const backlogs = { changes: backlogOf('changes'), pulls: backlogOf('pulls') };
  const tally = new TenantTally(redis, queuePrefix, settings.windowMs, warn('could not add to the admission tally'));
  const shares = new Sampled(new Map<string, number>(), () => tally.read(now()), warn('could not read the admission tally; shares as before'));

  const shed = (reason: ShedReason, work: AdmittedWork, jobs: number, why: string): never => {
    observer.shed(reason);
    throw new ApiError('LOAD_SHED', [`availability: ${jobs} jobs are waiting in the ${QUEUE_OF[work]} queue, past ${why}; nothing of this call was accepted; retry after ${RETRY_AFTER_S} s`], {
      headers: { 'Retry-After': String(RETRY_AFTER_S) },
    });
  };

  return async (integrationId, units, work) => {
    const at = now();
    const jobs = await backlogs[work].get(at);
    if (jobs >= settings.hardLimit) shed('backlog_hard_limit', work, jobs, `ADMISSION_BACKLOG_HARD_LIMIT (${settings.hardLimit}): every integration is refused for now`);
    if (jobs >= settings.backlogLimit && isHeavy(await shares.get(at), integrationId)) {
      shed('heavy_tenant', work, jobs, `ADMISSION_BACKLOG_LIMIT (${settings.backlogLimit}), and this integration sent more than its fair share of the recent availability writes`);
    }
    tally.add(integrationId, units, at);
  };
}
