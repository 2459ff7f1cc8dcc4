import type { Db } from '@octo-sync/db';
import { healthProbeJob, type JobContext, type JobProducer, type PayloadOf, type healthFanoutJob } from '@octo-sync/jobs';
import { tickOf } from '../schedules/cron';

export interface HealthFanoutDeps {
  db: Db;
  producer: JobProducer;
}

/**
 * `integration.health-fanout`, one per tick: one `integration.health-probe` per approved, active,
 * live integration (DOWN ones included: a probe is how they recover). The probe's job id is the
 * integration and the tick, so a retried fan-out never probes an integration twice in one tick.
 */
export function createHealthFanoutHandler({ db, producer }: HealthFanoutDeps) {
  return async (_payload: PayloadOf<typeof healthFanoutJob>, ctx: JobContext): Promise<{ tick: string; probes: number }> => {
    const tick = tickOf(ctx.job);
    const ids = await db.health.probeTargets();
    for (const integrationId of ids) {
      if (ctx.signal?.aborted) throw new Error('health fan-out interrupted by shutdown; it will be retried');
      await producer.enqueue(healthProbeJob, { integrationId, tick });
    }
    const result = { tick: new Date(tick).toISOString(), probes: ids.length };
    ctx.log.info(result, 'health fan-out done');
    return result;
  };
}
