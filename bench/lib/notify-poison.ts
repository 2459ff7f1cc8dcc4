import type { Db } from '@octo-sync/db';
import { availabilityApplyJob, type JobProducer, type SlotChange } from '@octo-sync/jobs';
import { slotStart } from '@octo-sync/testkit';
import { runLoad } from './load';

/** A queued job, as the producer hands it back (bullmq is the jobs package's dependency, not the benches'). */
type Job = Awaited<ReturnType<JobProducer['enqueue']>>;

/** What the poison phase of bench:notify measured. */
export interface PoisonFigures {
  /** The neighbour's answer-after-apply p50, alone and during the flood (ms). */
  neighbourP50Ms: { baseline: number; flood: number };
  /** Poisoned notifies the gateway refused (400) during the flood. */
  refusedAtGateway: number;
  /** Poisoned jobs put straight on the queue during the flood, and those failed, retried or unfinished a minute after it. */
  poisonedJobs: number;
  failedOrRetried: number;
}

interface Tenant {
  id: string;
  secret: string;
}

const WINDOW = (seed: number) => ({ productId: 'p', optionId: 'DEFAULT', localDateTimeStart: slotStart(30 + (seed % 300), '10:00', '+02:00'), status: 'AVAILABLE' as const, vacancies: 5, capacity: 9 });

/** A second tenant of the bench's catalog shape (one product, one option). */
export async function createTenant(db: Db, supplierUrl: string, name: string): Promise<Tenant> {
  const { integration, webhookSecret } = await db.integrations.create({ partnerId: name, baseUrl: supplierUrl, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true });
  const product = await db.prisma.product.create({ data: { integrationId: integration.id, octoId: 'p', raw: {}, contentHash: 'x' } });
  await db.prisma.productOption.create({ data: { productId: product.id, octoId: 'DEFAULT', raw: {}, contentHash: 'x' } });
  return { id: integration.id, secret: webhookSecret };
}

/** How long the poisoned jobs may take to finish once the flood ends. */
const SETTLE_MS = 60_000;

/**
 * Poisoned jobs that did not complete in their first attempt: failed, retried, or still unfinished
 * {@link SETTLE_MS} after the flood (waiting behind retries counts against the fix too).
 */
async function failedOrRetried(producer: JobProducer, jobs: readonly Job[]): Promise<number> {
  const queue = producer.queue(availabilityApplyJob.queue);
  const outcomes = await Promise.all(jobs.map((job) => producer.waitFor(job, SETTLE_MS)));
  let count = 0;
  for (const [i, outcome] of outcomes.entries()) {
    const attempts = outcome.state === 'completed' ? ((await queue.getJob(jobs[i]!.id!))?.attemptsMade ?? 1) : Infinity;
    if (attempts > 1) count++;
  }
  return count;
}

/**
 * Puts a poisoned job on the queue every 20 ms until stopped; `stop` (the same promise each call)
 * resolves once every enqueue has settled, rejecting if one failed.
 */
function floodQueue(enqueue: (n: number) => Promise<Job>): { stop: () => Promise<Job[]> } {
  const jobs: Job[] = [];
  const errors: unknown[] = [];
  const pending: Array<Promise<void>> = [];
  let sent = 0;
  // Numbered when sent, not when an earlier enqueue has answered: each job's ids are its own.
  const timer = setInterval(() => pending.push(enqueue(sent++).then((job) => void jobs.push(job), (err: unknown) => void errors.push(err))), 20);
  const finish = async (): Promise<Job[]> => {
    clearInterval(timer);
    await Promise.all(pending);
    if (errors.length > 0) throw new AggregateError(errors, `${errors.length} poisoned enqueues failed`);
    return jobs;
  };
  let stopping: Promise<Job[]> | undefined;
  return { stop: () => (stopping ??= finish()) };
}

/**
 * The attacker's reproduction as a measurement (issue 24): a neighbour tenant's notify p50 alone,
 * then while a hostile tenant floods every class of unstorable time, at a fixed rate (50 calls
 * and 50 jobs a second, each call with three changes), both through the gateway (year 0 and year-10000 starts, a year-9999 `updatedAt`: refused with 400)
 * and straight onto the queue (changes Postgres refuses with class 22: answered `rejected` within
 * their first attempt). Before the fix these were 202s, and the worker retried the shared batches
 * for minutes: the neighbour's p50 went from 17 ms to 2 s.
 */
export async function measurePoison(deps: { db: Db; producer: JobProducer; supplierUrl: string; gatewayBase: string; durationS: number }): Promise<PoisonFigures> {
  const neighbour = await createTenant(deps.db, deps.supplierUrl, 'bench-neighbour');
  const hostile = await createTenant(deps.db, deps.supplierUrl, 'bench-hostile');
  const notifyUrl = (t: Tenant) => `${deps.gatewayBase}/api/v1/partner-integrations/${t.id}/availability/notify`;
  const neighbourLoad = () =>
    runLoad({ url: notifyUrl(neighbour), method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': neighbour.secret }, body: JSON.stringify({ availabilityId: '[<id>]', ...WINDOW(0) }), idReplacement: true, connections: 8, durationS: deps.durationS });
  const baseline = await neighbourLoad();

  const poisonBody = JSON.stringify({
    updates: [
      { availabilityId: 'y0-[<id>]', ...WINDOW(1), localDateTimeStart: '0000-06-01T10:00:00+00:00' },
      { availabilityId: 'y10000-[<id>]', ...WINDOW(2), localDateTimeStart: '9999-12-31T23:00:00-05:00' },
      { availabilityId: 'frozen-[<id>]', ...WINDOW(3), updatedAt: '9999-12-31T23:59:59Z' },
    ],
  });
  const change = (availabilityId: string, over: Partial<SlotChange>): SlotChange => ({ availabilityId, ...WINDOW(4), orderSource: 'sequence', orderKey: '1', ...over });
  const unseen: Array<Partial<SlotChange>> = [{ vacancies: 3_000_000_000, capacity: null }, { localDateTimeStart: '0000-06-01T10:00:00+00:00' }, { localDateTimeStart: '9999-12-31T23:00:00-05:00' }, { orderKey: '9999999999999999999' }];
  // 50 poisoned jobs a second, each beside a storable change, for as long as the neighbour's load.
  const queued = floodQueue((n) => deps.producer.enqueue(availabilityApplyJob, { integrationId: hostile.id, changes: [change(`ok-${n}`, {}), change(`bad-${n}`, unseen[n % unseen.length]!)] }));
  const loads = Promise.all([
    neighbourLoad(),
    runLoad({ url: notifyUrl(hostile), method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': hostile.secret }, body: poisonBody, idReplacement: true, connections: 2, overallRate: 50, durationS: deps.durationS }),
  ]);
  // Stopped however the loads end; a failed enqueue fails the measurement (never left unhandled).
  const [flood, refused] = await loads.finally(() => queued.stop());
  const jobs = await queued.stop();
  return {
    neighbourP50Ms: { baseline: baseline.latencyP50Ms, flood: flood.latencyP50Ms },
    refusedAtGateway: refused.statuses['400'] ?? 0,
    poisonedJobs: jobs.length,
    failedOrRetried: await failedOrRetried(deps.producer, jobs),
  };
}
