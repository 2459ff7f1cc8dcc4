import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { slotKey, type Db, type Integration } from '@octo-sync/db';
import type { Job } from 'bullmq';
import { availabilityApplyJob, SLOT_STATUSES, type JobProducer, type SlotChange, type SlotResult } from '@octo-sync/jobs';
import { GroupCommit } from '@octo-sync/platform';
import type { GatewayConfig } from './config';
import { ApiError } from './errors';
import { BASE_PATH } from './paths';
import { webhookIntegration } from './request-context';
import { defineRoute, type RouteSpec } from './route';
import { okEnvelope, preferHeaderSchema, webhookHeadersSchema } from './schemas';
import { prefersAsync } from './sync-request';
import { friendlyErrors } from './validation';

// ---------------------------------------------------------------------------------------------
// The three forms a notify body may take (partner-api.md §4)

const id255 = z.string().min(1).max(255);
const count = z.number().int().min(0).max(2_147_483_647);
const slotFields = {
  localDateTimeStart: z.iso
    .datetime({ offset: true, local: false })
    .optional()
    .openapi({ description: 'ISO 8601 with an offset, in the product’s time zone. Required for a new slot.', example: '2026-07-01T09:00:00+02:00' }),
  status: z.enum(SLOT_STATUSES).optional(),
  vacancies: count.nullable().optional(),
  capacity: count.nullable().optional(),
};
const orderingFields = {
  updatedAt: z.iso
    .datetime({ offset: true })
    .refine((value) => Date.parse(value) >= 0, 'must be 1970-01-01T00:00:00Z or later')
    .optional()
    .openapi({ description: 'When the change happened at the supplier; orders changes to one slot (ties: arrival order).' }),
  sequence: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().openapi({ description: 'Orders changes to one slot (preferred over updatedAt when both are sent).' }),
};

function vacanciesWithinCapacity(value: { vacancies?: number | null; capacity?: number | null }, ctx: z.RefinementCtx): void {
  if (typeof value.vacancies === 'number' && typeof value.capacity === 'number' && value.vacancies > value.capacity) {
    ctx.addIssue({ code: 'custom', path: ['vacancies'], message: 'must not be greater than capacity' });
  }
}

const flatSchema = z
  .strictObject({ productId: id255, optionId: id255, availabilityId: id255, ...slotFields, ...orderingFields })
  .superRefine(vacanciesWithinCapacity)
  .openapi('AvailabilityChange');

const nestedSchema = z
  .strictObject({
    productId: id255,
    optionId: id255,
    // An OCTO Availability: its other fields (localDateTimeEnd, openingHours, pricing…) are kept as sent.
    availability: z.looseObject({ id: id255, ...slotFields }).superRefine(vacanciesWithinCapacity),
    ...orderingFields,
    webhook: z.unknown().optional(),
    supplier: z.unknown().optional(),
  })
  .openapi('AvailabilityUpdateEvent');

export const NOTIFY_BATCH_MAX = 500;
const batchSchema = z.strictObject({ updates: z.array(flatSchema).min(1).max(NOTIFY_BATCH_MAX) }).openapi('AvailabilityBatch');

/** One change as the routes handle it: the flat fields, plus the OCTO object when one was sent. */
type Flat = z.output<typeof flatSchema> & { raw?: Record<string, unknown> };

/**
 * Picks the form by its shape (a batch has `updates`, an OCTO event has `availability`) and
 * validates it, so a bad body gets the problems of the form it meant, every one of them.
 */
const notifyBodySchema = z
  .unknown()
  .transform((body, ctx): { batch: boolean; changes: Flat[] } => {
    const form = typeof body === 'object' && body !== null && 'updates' in body ? batchSchema : typeof body === 'object' && body !== null && 'availability' in body ? nestedSchema : flatSchema;
    const parsed = form.safeParse(body, { error: friendlyErrors });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, message: issue.message } as z.core.$ZodRawIssue);
      return z.NEVER;
    }
    const data = parsed.data;
    if ('updates' in data) return { batch: true, changes: data.updates };
    if ('availability' in data) {
      const { id, localDateTimeStart, status, vacancies, capacity } = data.availability;
      const change = { productId: data.productId, optionId: data.optionId, availabilityId: id, localDateTimeStart, status, vacancies, capacity };
      return { batch: false, changes: [{ ...change, updatedAt: data.updatedAt, sequence: data.sequence, raw: data.availability }] };
    }
    return { batch: false, changes: [data] };
  })
  .openapi({ oneOf: [z.toJSONSchema(flatSchema), z.toJSONSchema(nestedSchema), z.toJSONSchema(batchSchema)] as never });

const resultSchema = z
  .union([
    z.object({ updated: z.literal(true) }),
    z.object({ updated: z.literal(false), stale: z.literal(true) }),
    z.object({ updated: z.literal(false), full_sync_queued: z.literal(true) }),
    z.object({ updated: z.literal(false), rejected: z.literal(true) }).openapi({ description: 'The database refused this change’s values; the other changes were applied.' }),
  ])
  .openapi('AvailabilityResult');
const notifyAnswerSchema = z.union([resultSchema, z.object({ results: z.array(resultSchema) }), z.object({ queued: z.literal(true) })]).openapi('AvailabilityAnswer');

// ---------------------------------------------------------------------------------------------

/**
 * Receive keys: when a change reached a gateway, as microseconds since 1970 × 1000 plus this
 * replica's tag (0–999, drawn at start). Strictly increasing within a replica, unique across
 * replicas (unless two share a tag and a microsecond), and comparable across replicas as far as
 * their clocks agree (the README states the bound).
 */
export function createReceiveClock(tag = randomInt(1000), now: () => number = Date.now): () => bigint {
  let lastMicros = 0n;
  return () => {
    const micros = BigInt(Math.floor(now() * 1000));
    lastMicros = micros > lastMicros ? micros : lastMicros + 1n;
    return lastMicros * 1000n + BigInt(tag);
  };
}

function toSlotChange(change: Flat, receivedKey: bigint): SlotChange {
  const ordering: Pick<SlotChange, 'orderSource' | 'orderKey'> =
    change.sequence !== undefined
      ? { orderSource: 'sequence', orderKey: String(change.sequence) }
      : change.updatedAt !== undefined
        ? { orderSource: 'updated_at', orderKey: String(Date.parse(change.updatedAt)) }
        : { orderSource: 'received_at', orderKey: String(receivedKey) };
  return {
    receivedKey: String(receivedKey),
    ...(change.raw === undefined ? {} : { raw: change.raw }),
    productId: change.productId,
    optionId: change.optionId,
    availabilityId: change.availabilityId,
    localDateTimeStart: change.localDateTimeStart,
    status: change.status,
    vacancies: change.vacancies,
    capacity: change.capacity,
    ...ordering,
  };
}

/**
 * Puts notify calls on the queue. Calls that arrive while an enqueue is in flight share the next
 * job (one job per integration, at most {@link NOTIFY_BATCH_MAX} changes): under load the queue
 * sees a few large jobs instead of thousands of one-change jobs, and each call still gets its own
 * answers back, by position. A call's changes always land in one job.
 */
function createNotifyEnqueuer(producer: JobProducer) {
  type Placed = { job: Job; index: number };
  return new GroupCommit<{ integrationId: string; change: SlotChange }, Placed>(async (items) => {
    const groups = new Map<string, number[]>();
    items.forEach((item, i) => groups.set(item.integrationId, [...(groups.get(item.integrationId) ?? []), i]));
    const placed: Placed[] = new Array(items.length);
    await Promise.all(
      [...groups].map(async ([integrationId, positions]) => {
        const job = await producer.enqueue(availabilityApplyJob, { integrationId, changes: positions.map((i) => items[i]!.change) });
        positions.forEach((position, index) => (placed[position] = { job, index }));
      }),
    );
    return placed;
  }, NOTIFY_BATCH_MAX);
}

export interface AvailabilityRoutesDeps {
  config: GatewayConfig;
  db: Db;
  producer: JobProducer;
  /** Spends an integration's notify budget (slot changes), or throws 429 and spends nothing; resolves to a refund. */
  spendNotifyBudget: (integrationId: string, changes: number) => Promise<() => Promise<void>>;
}

export function availabilityRoutes({ config, db, producer, spendNotifyBudget }: AvailabilityRoutesDeps): RouteSpec[] {
  const enqueuer = createNotifyEnqueuer(producer);
  const receiveKey = createReceiveClock();

  /** A change without a start time is fine for a slot we have; a new slot needs one (listed like any 400). */
  async function requireStartOfNewSlots(integration: Pick<Integration, 'id'>, changes: Flat[], batch: boolean): Promise<void> {
    const missing = changes.map((c, i) => ({ c, i })).filter(({ c }) => c.localDateTimeStart === undefined);
    if (missing.length === 0) return;
    const keyOf = (c: Flat) => ({ integration_id: integration.id, product_octo_id: c.productId, option_octo_id: c.optionId, availability_id: c.availabilityId });
    const existing = await db.availability.existingSlots(missing.map(({ c }) => keyOf(c)));
    const problems = missing
      .filter(({ c }) => !existing.has(slotKey(keyOf(c))))
      .map(({ i }) => `${batch ? `updates.${i}.` : ''}localDateTimeStart: is required for a new slot`);
    if (problems.length > 0) throw new ApiError('VALIDATION_FAILED', problems);
  }

  return [
    defineRoute({
      method: 'post',
      path: `${BASE_PATH}/{id}/availability/notify`,
      operationId: 'notifyAvailability',
      summary: 'Report slot changes (partner webhook)',
      description:
        'One change (flat form), an OCTO `availability_update` event (nested form), or `{"updates": [...]}` with up to 500 changes answered per item. ' +
        'A change older than the stored one for its slot (by `sequence`, else `updatedAt`, else our receive time) is ignored and answered `stale`. ' +
        'A product or option we do not know queues one full sync instead. Waits up to NOTIFY_WAIT_MS for the changes to be applied, else (or with `Prefer: respond-async`) answers 202: ' +
        'every accepted change is applied.',
      tags: ['Webhooks'],
      auth: 'webhook',
      headers: webhookHeadersSchema.extend(preferHeaderSchema.shape),
      body: notifyBodySchema,
      bodyLimitBytes: config.notifyBodyLimitBytes,
      responses: {
        200: { description: 'Applied (or stale, or a full sync queued), per change.', schema: okEnvelope(notifyAnswerSchema) },
        202: { description: 'Accepted and queued; it will be applied.', schema: okEnvelope(notifyAnswerSchema) },
        409: { description: 'Not approved (INTEGRATION_NOT_APPROVED).' },
      },
      handler: async ({ req, body, log }) => {
        const integration = webhookIntegration(req);
        if (!integration.isApproved) {
          throw new ApiError('INTEGRATION_NOT_APPROVED', ['integration: is not approved yet; an admin must approve it before it can send availability']);
        }
        // Spent before the lookup, so that a call over the budget costs no query; a call refused
        // for its content gets it back (refused calls spend nothing).
        const refund = await spendNotifyBudget(integration.id, body.changes.length);
        await requireStartOfNewSlots(integration, body.changes, body.batch).catch(async (err: unknown) => {
          await refund();
          throw err;
        });
        const placed = await enqueuer.submit(body.changes.map((c) => ({ integrationId: integration.id, change: toSlotChange(c, receiveKey()) })));
        if (prefersAsync(req.get('prefer'))) return { status: 202, body: { success: 1, data: { queued: true } } };
        const job = placed[0]!.job;
        const outcome = await producer.waitFor<SlotResult[]>(job, config.notifyWaitMs);
        if (outcome.state !== 'completed') {
          if (outcome.state === 'failed') log.warn({ jobId: job.id, reason: outcome.reason }, 'availability job attempt failed; it will be retried');
          return { status: 202, body: { success: 1, data: { queued: true } } };
        }
        const results = placed.map((p) => outcome.value[p.index]!);
        const data = body.batch ? { results } : results[0];
        return { status: 200, body: { success: 1, data } };
      },
    }),
  ];
}
