import { UnrecoverableError } from 'bullmq';
import type { AlertAttempt, AlertDelivery, Db } from '@octo-sync/db';
import type { JobContext, PayloadOf, alertDeliverJob } from '@octo-sync/jobs';
import { isSupplierError, type SupplierClient } from '@octo-sync/octo';
import { signDelivery } from '@octo-sync/platform';
import type { AlertSettings } from './alerts';

interface DeliverDeps {
  db: Db;
  supplier: Pick<SupplierClient, 'postAlert'>;
  settings: Pick<AlertSettings, 'retryForMs' | 'timeoutMs'>;
}

/** What one attempt came to, before it is recorded. */
type Answer = { ok: true; statusCode: number } | { ok: false; statusCode: number | null; error: string; permanent: boolean };

/** The body of an alert: the Standard Webhooks payload shape (`type`, `timestamp`, `data`). */
function bodyOf(delivery: AlertDelivery): string {
  return JSON.stringify({ type: delivery.kind, timestamp: delivery.createdAt.toISOString(), data: delivery.data });
}

async function post(deps: DeliverDeps, delivery: AlertDelivery, url: string, key: Buffer): Promise<Answer> {
  const body = bodyOf(delivery);
  // One id for every attempt of an alert: the receiver can drop a repeat it already handled.
  const id = `msg_${delivery.id}`;
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headers = { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signDelivery(key, id, timestamp, Buffer.from(body)) };
  try {
    const statusCode = await deps.supplier.postAlert({ url, body, headers, timeoutMs: deps.settings.timeoutMs });
    if (statusCode >= 200 && statusCode < 300) return { ok: true, statusCode };
    return { ok: false, statusCode, error: `the receiver answered ${statusCode}`, permanent: false };
  } catch (err: unknown) {
    if (!isSupplierError(err)) throw err;
    return { ok: false, statusCode: null, error: `${err.code}: ${err.message}`, permanent: !err.retryable };
  }
}

/**
 * The `alert.deliver` job: signs the alert with the integration's current webhook secret and
 * POSTs it to its `alerts_url`. A failed attempt is retried (the queue's backoff) until the alert
 * is older than `retryForMs`; a refused address, a removed `alerts_url` or a missing signing key
 * end it at once.
 */
export function createDeliverAlertHandler(deps: DeliverDeps) {
  return async function deliverAlert({ alertId }: PayloadOf<typeof alertDeliverJob>, ctx: JobContext): Promise<{ status: string }> {
    const target = await deps.db.alerts.target(alertId);
    if (!target || target.delivery.status !== 'pending') return { status: target?.delivery.status ?? 'gone' };
    const { delivery, alertsUrl } = target;
    const credentials = alertsUrl === null ? null : await deps.db.webhookSecrets.credentials(delivery.integrationId);
    const key = credentials?.current.key ?? null;
    const answer: Answer =
      alertsUrl === null || key === null
        ? { ok: false, statusCode: null, error: alertsUrl === null ? 'alerts_url was removed' : 'the integration has no signing key yet', permanent: true }
        : await post(deps, delivery, alertsUrl, key);
    const expired = Date.now() - delivery.createdAt.getTime() >= deps.settings.retryForMs || ctx.job.attemptsMade + 1 >= (ctx.job.opts.attempts ?? 1);
    const final = !answer.ok && (answer.permanent || expired);
    const attempt: AlertAttempt = answer.ok
      ? { status: 'delivered', statusCode: answer.statusCode, error: null }
      : { status: final ? 'failed' : 'pending', statusCode: answer.statusCode, error: answer.error };
    await deps.db.alerts.recordAttempt(delivery.id, attempt);
    if (answer.ok) return { status: 'delivered' };
    ctx.log.warn({ alertId, kind: delivery.kind, statusCode: answer.statusCode, final }, 'alert delivery failed');
    throw final ? new UnrecoverableError(answer.error) : new Error(answer.error);
  };
}
