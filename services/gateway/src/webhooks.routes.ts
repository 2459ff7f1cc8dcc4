import { slotKey, type Db, type HintTarget, type Integration } from '@octo-sync/db';
import { availabilityApplyJob, slotTimeBounds, type JobProducer, type SlotChange, type SlotResult } from '@octo-sync/jobs';
import { GroupCommit, type Logger } from '@octo-sync/platform';
import type { PullRequests, SyncRequests } from '@octo-sync/runs';
import type { Admit } from './admission';
import type { SpendBudget } from './auth-steps';
import type { GatewayConfig } from './config';
import { ApiError } from './errors';
import { createNotifyBodySchema, createReceiveClock, NOTIFY_BATCH_MAX, notifyAnswerSchema, presentSlotResult, toSlotChange, type NotifyChange, type NotifyChanges } from './notify';
import { BASE_PATH } from './paths';
import { webhookIntegration } from './request-context';
import { preferHeaderSchema, syncTriggerSchema, webhookHeadersSchema } from './request-schemas';
import { okEnvelope } from './response-schemas';
import { defineRoute, ok, type Reply, type RouteSpec } from './route';
import { prefersAsync, requestSync, syncAnswerResponses } from './sync-request';
import type { WebhookIntegration } from './webhook-auth';

export interface WebhookRoutesDeps {
  config: GatewayConfig;
  db: Db;
  producer: JobProducer;
  /** The one owner of starting a sync. */
  requests: SyncRequests;
  /** The one owner of starting a pull (change hints). */
  pulls: PullRequests;
  /** Spends an integration's notify budget (slot changes), or throws 429 and spends nothing. */
  spendNotifyBudget: SpendBudget;
  /** This gateway's receive tag (leased, unique among live gateways); throws when none is held. */
  receiveTag: () => number;
  /** Sheds an integration's notify call while the availability backlog is past its bound (429). */
  admit: Admit;
}

const WEBHOOKS = ['Webhooks'];

const REPLAYED_HEADER = { 'Webhook-Replayed': { description: '`true` on the stored answer of a signed delivery seen before.', schema: { type: 'string' as const } } };
const SIGNED =
  ' Authenticated by `x-webhook-secret` or a Standard Webhooks signature (`webhook-id`, `webhook-timestamp`, `webhook-signature`); a timestamp more than 5 minutes off answers 401 WEBHOOK_TIMESTAMP_OUT_OF_RANGE. ' +
  'A signed delivery answered 2xx is remembered for 24 h: a repeat of its `webhook-id` is not processed again and gets the same answer with `Webhook-Replayed: true`; ' +
  'a copy that arrives while the first is processed waits for its answer up to the wait bound, else 409 WEBHOOK_IN_FLIGHT.';

/** The webhook answers, each 2xx with the replay header, plus the in-flight refusal. */
function withReplay<R extends Record<number, { description: string; headers?: Record<string, unknown> }>>(responses: R): R {
  const out: Record<number, unknown> = {};
  for (const [status, r] of Object.entries(responses)) {
    out[Number(status)] = Number(status) < 300 ? { ...r, headers: { ...r.headers, ...REPLAYED_HEADER } } : r;
  }
  return out as R;
}

/** The partner's webhooks, authenticated by the integration's secret: sync the catalog now, and slot changes. */
export function webhookRoutes(deps: WebhookRoutesDeps): RouteSpec[] {
  return [triggerSyncRoute(deps), notifyRoute(deps)];
}

function triggerSyncRoute({ config, db, producer, requests }: WebhookRoutesDeps): RouteSpec {
  const syncDeps = { db, producer, waitMs: config.syncTriggerWaitMs, requests };
  return defineRoute({
    method: 'post',
    path: `${BASE_PATH}/{id}/sync/trigger`,
    operationId: 'triggerSync',
    summary: 'Sync the catalog now (partner webhook)',
    description:
      'No body needed (a signed delivery signs whatever bytes it sends, often none): a full catalog sync. With `{"productIds": [...]}`, a targeted refresh of those products only ' +
      '(`GET /products/{id}` each; one the supplier answers 404 is deactivated, within the mass-removal guard, and each unknown id is named in the run’s warnings; ' +
      'a refresh that changed nothing answers `skipped: true`); it joins a queued full sync, which covers it. ' +
      `Waits up to SYNC_TRIGGER_WAIT_MS (default 20 s) for the run; \`Prefer: respond-async\` answers 202 at once. Rate limited per integration (WEBHOOK_RATE_LIMIT per WEBHOOK_RATE_WINDOW_MS).` +
      SIGNED,
    tags: WEBHOOKS,
    auth: 'webhook',
    headers: webhookHeadersSchema.extend(preferHeaderSchema.shape),
    body: syncTriggerSchema,
    bodyOptional: true,
    deliveryWaitMs: config.syncTriggerWaitMs,
    responses: withReplay({ ...syncAnswerResponses, 409: { description: 'Not approved (INTEGRATION_NOT_APPROVED) or inactive, or WEBHOOK_IN_FLIGHT.' } }),
    handler: async ({ req, body, log }) =>
      requestSync(syncDeps, {
        integration: webhookIntegration(req),
        trigger: 'webhook',
        ...(body.productIds === undefined ? {} : { productIds: body.productIds }),
        respondAsync: prefersAsync(req.get('prefer')),
        requestId: req.id,
        log,
      }),
  });
}

function notifyRoute(deps: WebhookRoutesDeps): RouteSpec {
  const notify = createNotifyHandler(deps);
  const hint = createHintHandler(deps);
  const retentionDays = deps.config.availabilityRetentionDays;
  return defineRoute({
    method: 'post',
    path: `${BASE_PATH}/{id}/availability/notify`,
    operationId: 'notifyAvailability',
    summary: 'Report slot changes (partner webhook)',
    description:
      'One change (flat form), an OCTO `availability_update` event (nested form), or `{"updates": [...]}` with up to 500 changes answered per item. ' +
      'A change older than the stored one for its slot (by `sequence`, else `updatedAt`, else our receive time) is ignored and answered `stale`. ' +
      'A slot start before today minus AVAILABILITY_RETENTION_DAYS or past today plus 2 years, or an `updatedAt` more than 24 h past the gateway’s clock, is refused (400). ' +
      'A product or option we do not know queues one full sync instead. Waits up to NOTIFY_WAIT_MS for the changes to be applied, else (or with `Prefer: respond-async`) answers 202: ' +
      'every accepted change is applied. ' +
      '`{"hint": {productId, optionId?, localDateStart, localDateEnd}}` or `{"hints": [...]}` (up to 100) says only that availability changed over those local dates (at most 366 days; every option of the product when optionId is left out): ' +
      'it answers 202 `{"queued": true, "run_id"}` at once with the pull run that asks the supplier for that window, a new one or a queued one whose supplier calls have not started; ' +
      'hints of one integration arriving within HINT_COALESCE_MS (default 2 s) share one run.' +
      SIGNED,
    tags: WEBHOOKS,
    auth: 'webhook',
    headers: webhookHeadersSchema.extend(preferHeaderSchema.shape),
    body: createNotifyBodySchema(() => slotTimeBounds(Date.now(), retentionDays)),
    bodyLimitBytes: deps.config.notifyBodyLimitBytes,
    deliveryWaitMs: deps.config.notifyWaitMs,
    responses: withReplay({
      200: { description: 'Applied (or stale, or a full sync queued), per change.', schema: okEnvelope(notifyAnswerSchema) },
      202: { description: 'Accepted and queued; it will be applied (changes), or pulled by the run named (hints).', schema: okEnvelope(notifyAnswerSchema) },
      409: { description: 'Not approved (INTEGRATION_NOT_APPROVED), or WEBHOOK_IN_FLIGHT.' },
      429: { description: 'RATE_LIMITED: this integration’s notify budget is spent; or LOAD_SHED: the availability backlog is past its bound and this integration sent more than its fair share of recent availability writes (or the backlog is past its hard bound). Nothing of the call was accepted. See Retry-After.' },
    }),
    handler: async ({ req, body, log }) => ('hints' in body ? hint(webhookIntegration(req), body.hints, req.id) : notify(webhookIntegration(req), body, prefersAsync(req.get('prefer')), log)),
  });
}

/**
 * Queues an accepted notify call and, unless the caller prefers not to wait, answers with what
 * the worker did to each change; 202 when that takes longer than NOTIFY_WAIT_MS.
 */
function createNotifyHandler({ config, db, producer, spendNotifyBudget, receiveTag, admit }: WebhookRoutesDeps) {
  const enqueuer = createNotifyEnqueuer(producer);
  const receiveKey = createReceiveClock(receiveTag);
  const queued = () => ok({ queued: true }, 202);
  return async (integration: WebhookIntegration, body: NotifyChanges, respondAsync: boolean, log: Logger): Promise<Reply> => {
    requireApproved(integration);
    await admit(integration.id, body.changes.length, 'changes');
    // Stamped first: without a receive tag (Redis away) the call is refused before it spends anything.
    const received = body.changes.map(() => receiveKey());
    // Spent before the lookup, so that a call over the budget costs no query; a call refused
    // for its content gets it back (refused calls spend nothing).
    const refund = await spendNotifyBudget(integration.id, body.changes.length);
    await requireStartOfNewSlots(db, integration, body.changes, body.batch).catch(async (err: unknown) => {
      await refund();
      throw err;
    });
    const placed = await enqueuer.submit(body.changes.map((c, i) => ({ integrationId: integration.id, change: toSlotChange(c, received[i]!) })));
    if (respondAsync) return queued();
    const job = placed[0]!.job;
    const outcome = await producer.waitFor<SlotResult[]>(job, config.notifyWaitMs);
    if (outcome.state !== 'completed') {
      if (outcome.state === 'failed') log.warn({ jobId: job.id, reason: outcome.reason }, 'availability job attempt failed; it will be retried');
      return queued();
    }
    const results = placed.map((p) => presentSlotResult(outcome.value[p.index]!));
    return ok(body.batch ? { results } : results[0]);
  };
}

/** Availability (changes or hints) is taken only from an approved integration. */
function requireApproved(integration: WebhookIntegration): void {
  if (!integration.isApproved) {
    throw new ApiError('INTEGRATION_NOT_APPROVED', ['integration: is not approved yet; an admin must approve it before it can send availability']);
  }
}

/**
 * Change hints: each spends the notify budget like a change, and goes through admission control
 * judged by the pulls queue (a hint becomes supplier pulls); the pull they make or join answers
 * at once with its run (202), never waiting for it.
 */
function createHintHandler({ config, pulls, spendNotifyBudget, admit }: WebhookRoutesDeps) {
  return async (integration: WebhookIntegration, hints: HintTarget[], requestId: string): Promise<Reply> => {
    requireApproved(integration);
    await admit(integration.id, hints.length, 'pulls');
    const refund = await spendNotifyBudget(integration.id, hints.length);
    const { runId } = await pulls.hint(integration, hints, config.hintCoalesceMs, requestId).catch(async (err: unknown) => {
      await refund();
      throw err;
    });
    return ok({ queued: true, run_id: runId }, 202);
  };
}

/** A change without a start time is fine for a slot we have; a new slot needs one (listed like any 400). */
async function requireStartOfNewSlots(db: Db, integration: Pick<Integration, 'id'>, changes: NotifyChange[], batch: boolean): Promise<void> {
  const missing = changes.map((c, i) => ({ c, i })).filter(({ c }) => c.localDateTimeStart === undefined);
  if (missing.length === 0) return;
  const keyOf = (c: NotifyChange) => ({ integration_id: integration.id, product_octo_id: c.productId, option_octo_id: c.optionId, availability_id: c.availabilityId });
  const existing = await db.availability.existingSlots(missing.map(({ c }) => keyOf(c)));
  const problems = missing
    .filter(({ c }) => !existing.has(slotKey(keyOf(c))))
    .map(({ i }) => `${batch ? `updates.${i}.` : ''}localDateTimeStart: is required for a new slot`);
  if (problems.length > 0) throw new ApiError('VALIDATION_FAILED', problems);
}

/**
 * Puts notify calls on the queue. Calls that arrive while an enqueue is in flight share the next
 * job (one job per integration, at most {@link NOTIFY_BATCH_MAX} changes): under load the queue
 * sees a few large jobs instead of thousands of one-change jobs, and each call still gets its own
 * answers back, by position. A call's changes always land in one job.
 */
function createNotifyEnqueuer(producer: JobProducer) {
  type Placed = { job: Awaited<ReturnType<JobProducer['enqueue']>>; index: number };
  return new GroupCommit<{ integrationId: string; change: SlotChange }, Placed>(async (items) => {
    const groups = new Map<string, number[]>();
    items.forEach((item, i) => groups.set(item.integrationId, [...(groups.get(item.integrationId) ?? []), i]));
    const placed = new Array<Placed>(items.length);
    await Promise.all(
      [...groups].map(async ([integrationId, positions]) => {
        const job = await producer.enqueue(availabilityApplyJob, { integrationId, changes: positions.map((i) => items[i]!.change) });
        positions.forEach((position, index) => (placed[position] = { job, index }));
      }),
    );
    return placed;
  }, NOTIFY_BATCH_MAX);
}
