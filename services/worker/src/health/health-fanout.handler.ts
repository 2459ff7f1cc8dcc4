import type { Job } from 'bullmq';
import type { Db } from '@octo-sync/db';
import type { SyncRequests } from '@octo-sync/runs';
import type { Alerts } from '../alerts/alerts';
import { healthProbeJob, type JobContext, type JobProducer, type PayloadOf, type healthFanoutJob } from '@octo-sync/jobs';
import { tickOf } from '../schedules/cron';
import { probeOutcomeSchema } from './health-probe.handler';
import { applyProbe, isSuspectedLocalOutage, type HealthStep, type OutageRule, type TickProbe } from './health-tick';

export interface HealthFanoutDeps {
  db: Db;
  producer: JobProducer;
  /** Starts the recovery sync of an integration that leaves DOWN. */
  requests: SyncRequests;
  /** Raises the partner alerts of health transitions. */
  alerts: Alerts;
  settings: {
    /** Consecutive failures that make an integration DOWN. */
    downAfter: number;
    outage: OutageRule;
    /** How long the fan-out waits for the tick's probes; those not finished by then change nothing. */
    collectTimeoutMs: number;
  };
}

/** What one tick did (the fan-out job's return value, visible in the queue dashboard). */
export interface HealthTickReport {
  tick: string;
  /** Probe jobs enqueued. */
  probes: number;
  /** Probes that reached their supplier, and how many of them failed. */
  probed: number;
  failed: number;
  /** Probes that did not finish within the collect timeout (or crashed): no state change for them. */
  unfinished: number;
  /** The failures looked like our own outage: nobody changed state in this tick. */
  suspectedLocalOutage: boolean;
  /** Integrations whose health status changed. */
  changed: number;
  /** A retry of a fan-out that had already applied its tick: nothing was done again. */
  alreadyApplied?: true;
}

/** Marks, on the fan-out job itself, that its tick was applied, so a retried fan-out never applies twice. */
const APPLIED = 'applied';

/**
 * `integration.health-fanout`, one per tick: one `integration.health-check` per approved, active,
 * live integration (DOWN ones included: a probe is how they recover), spread over every worker.
 * The probes only look; this job collects the tick's results and then applies them together,
 * unless more than `outage.ratio` of them (and more than `outage.minimum`) failed: then the fault
 * is taken to be ours (egress, DNS) and nobody changes state, instead of every supplier going
 * DOWN and every product inactive at once. Probe job ids are per integration and tick, so a
 * retried fan-out neither probes twice nor waits for new probes.
 */
export function createHealthFanoutHandler({ db, producer, requests, alerts, settings }: HealthFanoutDeps) {
  return async (_payload: PayloadOf<typeof healthFanoutJob>, ctx: JobContext): Promise<HealthTickReport> => {
    const tick = tickOf(ctx.job);
    const tickIso = new Date(tick).toISOString();
    if (ctx.job.progress === APPLIED) {
      return { tick: tickIso, probes: 0, probed: 0, failed: 0, unfinished: 0, suspectedLocalOutage: false, changed: 0, alreadyApplied: true };
    }
    const ids = await db.health.probeTargets();
    const jobs: Job[] = [];
    for (const integrationId of ids) {
      if (ctx.signal?.aborted) throw new Error('health fan-out interrupted by shutdown; it will be retried');
      jobs.push(await producer.enqueue(healthProbeJob, { integrationId, tick }));
    }
    const { probes: collected, unfinished } = await collect(producer, ids, jobs, settings.collectTimeoutMs, ctx.signal);
    const failed = collected.filter((probe) => !probe.ok).length;
    const report: HealthTickReport = {
      tick: tickIso,
      probes: ids.length,
      probed: collected.length,
      failed,
      unfinished,
      suspectedLocalOutage: isSuspectedLocalOutage(collected.length, failed, settings.outage),
      changed: 0,
    };
    await ctx.job.updateProgress(APPLIED);
    if (report.suspectedLocalOutage) {
      ctx.log.warn({ ...report, outageRatio: settings.outage.ratio, outageMinimum: settings.outage.minimum }, 'health tick looks like a local outage: no integration changed state');
      return report;
    }
    const steps: HealthStep[] = [];
    for (const probe of collected) {
      const step = await applyProbe({ db, requests, alerts, downAfter: settings.downAfter }, probe, ctx.log);
      if (step) steps.push(step);
    }
    report.changed = steps.filter((step) => step.previous !== step.status).length;
    ctx.log.info(report, 'health tick applied');
    return report;
  };
}

/**
 * Waits for the tick's probe jobs, all within one deadline, and keeps the results of those that
 * reached their supplier (an integration deleted or deactivated meanwhile is left out).
 */
async function collect(
  producer: JobProducer,
  ids: readonly string[],
  jobs: readonly Job[],
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ probes: TickProbe[]; unfinished: number }> {
  const outcomes = await untilAborted(Promise.all(jobs.map((job) => producer.waitFor<unknown>(job, timeoutMs))), signal);
  const probes: TickProbe[] = [];
  let unfinished = 0;
  outcomes.forEach((outcome, i) => {
    const parsed = outcome.state === 'completed' ? probeOutcomeSchema.safeParse(outcome.value) : undefined;
    const integrationId = ids[i];
    if (parsed === undefined || !parsed.success || integrationId === undefined) unfinished++;
    else if (parsed.data.probed) probes.push({ integrationId, ok: parsed.data.ok, ...(parsed.data.code === undefined ? {} : { code: parsed.data.code }) });
  });
  return { probes, unfinished };
}

/** `work`, unless the worker shuts down first: then the fan-out fails and is retried. */
async function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(new Error('health fan-out interrupted by shutdown; it will be retried'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
