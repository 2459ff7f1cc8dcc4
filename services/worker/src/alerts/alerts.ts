import type { Db } from '@octo-sync/db';
import { alertDeliverJob, shardedKey, type JobProducer, type RedisConnection } from '@octo-sync/jobs';
import type { Logger } from '@octo-sync/platform';
import type { RetrySettings } from '../catalog/retry';

/** The alerts a partner may receive at its `alerts_url`. */
export type AlertKind =
  | 'sync.failed'
  | 'sync.recovered'
  | 'integration.degraded'
  | 'integration.down'
  | 'integration.recovered'
  | 'catalog.mass_removal_blocked'
  | 'catalog.products_quarantined'
  | 'supplier.drift';

/** What an alert says besides its kind and integration: small, non-secret facts. */
export type AlertFacts = Record<string, string | number | null>;

/** How alerts are throttled and delivered. */
export interface AlertSettings {
  /** Delivery jobs this process runs at once. */
  concurrency: number;
  /** At most one alert of a kind per integration in this window. */
  throttleMs: number;
  /** An alert not delivered after this long is given up. */
  retryForMs: number;
  /** Backoff between delivery attempts. */
  retry: RetrySettings;
  /** Deadline of one delivery attempt. */
  timeoutMs: number;
}

/** Raises partner alerts: the one way an event becomes an alert delivery. */
export interface Alerts {
  /**
   * Records and queues an alert when the integration has an `alerts_url` and no alert of this
   * kind went out within the throttle window. Never throws: an alert must not fail what raised it.
   */
  raise(integrationId: string, kind: AlertKind, facts?: AlertFacts): Promise<void>;
}

interface AlertDeps {
  db: Db;
  redis: RedisConnection;
  producer: JobProducer;
  prefix: string;
  settings: Pick<AlertSettings, 'throttleMs'>;
  log: Logger;
}

/** The alert raiser of one worker process. */
export function createAlerts({ db, redis, producer, prefix, settings, log }: AlertDeps): Alerts {
  const raise = async (integrationId: string, kind: AlertKind, facts: AlertFacts): Promise<void> => {
    const integration = await db.integrations.findLive(integrationId);
    if (!integration?.alertsUrl) return;
    // SET NX: the first alert of the window takes the key, every other one finds it.
    const fresh = await redis.set(shardedKey(prefix, 'alert-throttle', integrationId, kind), '1', 'PX', settings.throttleMs, 'NX');
    if (fresh !== 'OK') {
      log.debug({ integrationId, kind }, 'alert throttled');
      return;
    }
    const alert = await db.alerts.create(integrationId, kind, { integration_id: integrationId, ...facts });
    await producer.enqueue(alertDeliverJob, { alertId: alert.id });
    log.info({ integrationId, kind, alertId: alert.id }, 'alert queued');
  };
  return {
    raise: async (integrationId, kind, facts = {}) => {
      try {
        await raise(integrationId, kind, facts);
      } catch (err: unknown) {
        log.warn({ err, integrationId, kind }, 'alert could not be queued');
      }
    },
  };
}
