import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db, FleetTierFreshness, RunCounts, SlotPartitionCoverage, SlotPartitionWork, SyncRun } from '@octo-sync/db';
import { QUEUES, slotTimeBounds, type JobProducer, type QueueName, type SlotResult } from '@octo-sync/jobs';
import { asError, type Logger } from '@octo-sync/platform';
import type { ThrottleReport } from './supplier-budget/budgeted-supplier';

/** The queue states an operator watches (the gauge's `state` label). */
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
const HEALTH_STATES = ['HEALTHY', 'DEGRADED', 'DOWN'] as const;
const ROW_TABLES = ['products', 'options', 'units'] as const;

/**
 * The worker's Prometheus metrics, in a registry of their own (tests start many runtimes in one
 * process). Handlers report what happened; the queue and health gauges are set by a sampler on an
 * interval, so a scrape only serialises numbers already in memory.
 */
export interface WorkerMetrics {
  registry: Registry;
  /** A run ended for good: succeeded, skipped, or failed with no attempt left. */
  runEnded(run: Pick<SyncRun, 'trigger' | 'status' | 'startedAt'> & { counts?: unknown }, endedAt?: Date): void;
  /** What one availability job's changes came to. */
  availabilityApplied(results: readonly SlotResult[]): void;
  setQueueJobs(queue: QueueName, counts: Partial<Record<(typeof QUEUE_STATES)[number], number>>): void;
  setIntegrations(byHealth: Record<(typeof HEALTH_STATES)[number], number>): void;
  /** Every registered change-feed consumer's lag (a consumer no longer listed loses its series). */
  setConsumerLag(lags: ReadonlyArray<{ name: string; positions: number; seconds: number }>): void;
  /** Header ids left before a change-feed writer would find no partition, and the ids given so far (`ChangeFeedPartitions.headroom`). */
  setFeedHeadroom(headroom: { left: number; given: number }): void;
  /** What one pass over the slots' partitions did (`availability.partitions`). */
  slotPartitions(work: SlotPartitionWork): void;
  /** The months the slots' attached partitions cover, as sampled from the catalog (`SlotPartitionStore.coverage`). */
  setSlotCoverage(coverage: SlotPartitionCoverage): void;
  /** The fleet's per-tier confirmation ages (`FreshnessStore.fleet`); a tier no integration has any more loses its series. */
  setFreshness(tiers: readonly FleetTierFreshness[]): void;
  /** Supplier answers that throttled us, and the time calls waited on a slowed budget. */
  supplierThrottle: ThrottleReport;
}

function resultOf(result: SlotResult): string {
  if (result.updated) return 'updated';
  if ('stale' in result) return 'stale';
  if ('full_sync_queued' in result) return 'full_sync_queued';
  return 'rejected';
}

function writtenRows(counts: RunCounts, table: (typeof ROW_TABLES)[number]): number {
  const c = counts[table];
  return c.created + c.updated + c.removed;
}

/** Builds the metrics; `defaultMetrics` adds the process metrics (once per process: main.ts). */
export function createWorkerMetrics(options: { defaultMetrics?: boolean } = {}): WorkerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'worker_' });
  const registers = [registry];
  const runs = new Counter({ name: 'octo_sync_runs_total', help: 'Catalog sync runs ended, by trigger and final status.', labelNames: ['trigger', 'status'] as const, registers });
  const duration = new Histogram({
    name: 'octo_sync_run_duration_seconds',
    help: 'Time from a run’s last start to its end.',
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers,
  });
  const rows = new Counter({ name: 'octo_sync_rows_written_total', help: 'Catalog rows created, updated or deactivated by sync runs, by table.', labelNames: ['table'] as const, registers });
  const changes = new Counter({ name: 'octo_sync_availability_changes_total', help: 'Slot changes applied by the worker, by result.', labelNames: ['result'] as const, registers });
  const queueJobs = new Gauge({ name: 'octo_sync_queue_jobs', help: 'Jobs per queue and state, as last sampled.', labelNames: ['queue', 'state'] as const, registers });
  const integrations = new Gauge({ name: 'octo_sync_integrations', help: 'Live integrations by health, as last sampled.', labelNames: ['health'] as const, registers });
  const partitionSteps = new Counter({ name: 'octo_sync_slot_partition_steps_total', help: 'Slot partition steps: created, dropped, skipped (lock timeout), and undated slots pruned.', labelNames: ['step'] as const, registers });
  const monthsAhead = new Gauge({ name: 'octo_sync_slot_partition_months_ahead', help: 'Consecutive months from the current one with an attached slot partition, as last sampled (26 when all is well).', registers });
  const acceptedMissing = new Gauge({ name: 'octo_sync_slot_partition_accepted_months_missing', help: 'Months up to that of the latest start the gateway accepts with no attached slot partition, as last sampled (0 when all is well).', registers });
  const lagPositions = new Gauge({ name: 'octo_sync_change_feed_consumer_lag_positions', help: 'Change-feed positions a registered consumer has not acknowledged, as last sampled.', labelNames: ['consumer'] as const, registers });
  const lagSeconds = new Gauge({ name: 'octo_sync_change_feed_consumer_lag_seconds', help: 'Seconds since the oldest change-feed event a registered consumer has not acknowledged became readable, as last sampled.', labelNames: ['consumer'] as const, registers });
  const headroom = new Gauge({ name: 'octo_sync_change_feed_partition_headroom_ids', help: 'Change-feed header ids left before a writer would find no partition, as last sampled (changes.prune keeps it above 10,000,000).', registers });
  const idsGiven = new Gauge({ name: 'octo_sync_change_feed_ids_given', help: 'Change-feed header ids and tickets drawn so far (the sequence’s last value), as last sampled: its rate is how fast the headroom goes.', registers });
  const throttled = new Counter({ name: 'octo_sync_supplier_throttled_total', help: 'Supplier answers with a status in the integration’s throttle_statuses (each slows that supplier’s budget).', registers });
  const throttleWait = new Counter({ name: 'octo_sync_supplier_throttled_wait_seconds_total', help: 'Time runs’ supplier calls waited on a budget slowed by throttling (overlapping waits of one run count once).', registers });
  const freshnessAge = new Gauge({
    name: 'octo_sync_freshness_age_seconds',
    help: 'Over the integrations the pull schedule pulls, the quantile of the age of the oldest confirmation among their active options’ days in the pull tier’s window (tier 0: the nearest days), as last sampled.',
    labelNames: ['tier', 'quantile'] as const,
    registers,
  });
  const tierInterval = new Gauge({ name: 'octo_sync_freshness_tier_interval_seconds', help: 'The longest interval_minutes of the pull tier among those integrations, in seconds, as last sampled.', labelNames: ['tier'] as const, registers });
  return {
    registry,
    setFreshness: (tiers) => {
      freshnessAge.reset();
      tierInterval.reset();
      for (const t of tiers) {
        const tier = String(t.tier);
        freshnessAge.set({ tier, quantile: '0.5' }, t.p50);
        freshnessAge.set({ tier, quantile: '0.99' }, t.p99);
        tierInterval.set({ tier }, t.intervalSeconds);
      }
    },
    supplierThrottle: { throttled: () => throttled.inc(), waited: (ms) => throttleWait.inc(ms / 1000) },
    setFeedHeadroom: ({ left, given }) => {
      headroom.set(left);
      idsGiven.set(given);
    },
    setConsumerLag: (lags) => {
      lagPositions.reset();
      lagSeconds.reset();
      for (const lag of lags) {
        lagPositions.set({ consumer: lag.name }, lag.positions);
        lagSeconds.set({ consumer: lag.name }, lag.seconds);
      }
    },
    slotPartitions: (work) => {
      partitionSteps.inc({ step: 'created' }, work.created.length);
      partitionSteps.inc({ step: 'dropped' }, work.dropped.length);
      partitionSteps.inc({ step: 'skipped' }, work.skipped.length);
      partitionSteps.inc({ step: 'undated_pruned' }, work.undatedPruned);
    },
    setSlotCoverage: (coverage) => {
      monthsAhead.set(coverage.monthsAhead);
      acceptedMissing.set(coverage.acceptedMonthsMissing);
    },
    runEnded: (run, endedAt = new Date()) => {
      runs.inc({ trigger: run.trigger, status: run.status });
      if (run.startedAt) duration.observe((endedAt.getTime() - run.startedAt.getTime()) / 1000);
      const counts = run.counts as RunCounts | null | undefined;
      if (run.status === 'succeeded' && counts) for (const table of ROW_TABLES) rows.inc({ table }, writtenRows(counts, table));
    },
    availabilityApplied: (results) => {
      for (const result of results) changes.inc({ result: resultOf(result) });
    },
    setQueueJobs: (queue, counts) => {
      for (const state of QUEUE_STATES) queueJobs.set({ queue, state }, counts[state] ?? 0);
    },
    setIntegrations: (byHealth) => {
      for (const health of HEALTH_STATES) integrations.set({ health }, byHealth[health]);
    },
  };
}

/**
 * Reads the queue counts, the integrations' health, the change-feed consumers' lag, the feed's
 * partition headroom and the months the slots' partitions cover into the gauges, each on its own: one failing read leaves the others set.
 */
async function sample(metrics: WorkerMetrics, producer: JobProducer, db: Db): Promise<void> {
  const queues = Object.keys(QUEUES) as QueueName[];
  await Promise.all([
    ...queues.map(async (name) => metrics.setQueueJobs(name, await producer.queue(name).getJobCounts(...QUEUE_STATES))),
    db.health.countByStatus().then((byHealth) => metrics.setIntegrations(byHealth)),
    db.changes.consumers.lag().then((lags) => metrics.setConsumerLag(lags)),
    db.changes.partitions.headroom().then((headroom) => metrics.setFeedHeadroom(headroom)),
    // The latest start accepted does not depend on the retention (slotTimeBounds' lower bound does).
    db.slotPartitions.coverage(new Date(), new Date(slotTimeBounds(Date.now(), 0).latestStart)).then((coverage) => metrics.setSlotCoverage(coverage)),
  ]);
}

/** A running metrics endpoint and its sampler. */
export interface MetricsEndpoint {
  /** The address and port it listens on. */
  host: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` on `host`:`port` and samples the gauges every `sampleMs`, the per-tier
 * freshness ones every `freshnessSampleMs` (default `sampleMs`): one statement over every active
 * option's pull marks, its cost grows with the fleet (README). Both once at once, so the first
 * scrape has them. A failed sample keeps the previous values and is logged.
 */
export async function serveWorkerMetrics(
  deps: { metrics: WorkerMetrics; producer: JobProducer; db: Db; log: Logger },
  listen: { host: string; port: number; sampleMs: number; freshnessSampleMs?: number },
): Promise<MetricsEndpoint> {
  const { metrics, producer, db, log } = deps;
  const failed = (err: unknown) => log.warn({ err: asError(err).message }, 'metrics sample failed');
  const tick = () => sample(metrics, producer, db).catch(failed);
  const freshnessTick = () => db.freshness.fleet().then((tiers) => metrics.setFreshness(tiers), failed);
  await Promise.all([tick(), freshnessTick()]);
  const timers = [setInterval(() => void tick(), listen.sampleMs), setInterval(() => void freshnessTick(), listen.freshnessSampleMs ?? listen.sampleMs)];
  for (const timer of timers) timer.unref();
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: unknown) => {
        log.error({ err }, 'metrics could not be rendered');
        res.writeHead(500).end();
      },
    );
  });
  server.listen(listen.port, listen.host);
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;
  log.info({ host: address, port }, 'metrics listening');
  return {
    host: address,
    port,
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
