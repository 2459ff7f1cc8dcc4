import { z } from 'zod';
import type { HintTarget } from '@octo-sync/db';
import { SLOT_STATUSES, startWithin, updatedAtWithin, type SlotChange, type SlotResult, type SlotTimeBounds } from '@octo-sync/jobs';
// Puts `.openapi()` on zod before the schemas below are built.
import './request-schemas';
import { hintSchemasOf, toHintTarget } from './notify-hints';
import { friendlyErrors } from './validation';

/*
 * The notify webhook's HTTP contract: the three body forms it accepts, how an accepted change
 * becomes a job's slot change, and how the job's results become the HTTP answer.
 */

// ---------------------------------------------------------------------------------------------
// The three forms a notify body may take: one flat change, one OCTO availability event, a batch

const id255 = z.string().min(1).max(255);
const count = z.number().int().min(0).max(2_147_483_647);

/** Today's bounds, read once per field checked: the schemas are built once, the clock moves. */
type BoundsNow = () => SlotTimeBounds;

const day = (instant: number) => new Date(instant).toISOString().slice(0, 10);

function slotFields(bounds: BoundsNow) {
  return {
    localDateTimeStart: z.iso
      .datetime({ offset: true, local: false })
      .superRefine((value, ctx) => {
        const b = bounds();
        if (!startWithin(b, value)) ctx.addIssue({ code: 'custom', message: `must be from ${day(b.earliestStart)} to ${day(b.latestStart)} (AVAILABILITY_RETENTION_DAYS before today to 2 years ahead)` });
      })
      .optional()
      .openapi({ description: 'ISO 8601 with an offset, in the product’s time zone, from today minus AVAILABILITY_RETENTION_DAYS to today plus 2 years. Required for a new slot.', example: '2026-07-01T09:00:00+02:00' }),
    status: z.enum(SLOT_STATUSES).optional(),
    vacancies: count.nullable().optional(),
    capacity: count.nullable().optional(),
  };
}

function orderingFields(bounds: BoundsNow) {
  return {
    updatedAt: z.iso
      .datetime({ offset: true })
      .superRefine((value, ctx) => {
        const b = bounds();
        if (updatedAtWithin(b, value)) return;
        const message = Date.parse(value) < b.earliestUpdatedAt ? 'must be 1970-01-01T00:00:00Z or later' : `must be no later than 24 h past the gateway’s clock (${new Date(b.latestUpdatedAt).toISOString()})`;
        ctx.addIssue({ code: 'custom', message });
      })
      .optional()
      .openapi({ description: 'When the change happened at the supplier, from 1970 to 24 h past the gateway’s clock; orders changes to one slot (ties: arrival order).' }),
    sequence: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().openapi({ description: 'Orders changes to one slot (preferred over updatedAt when both are sent).' }),
  };
}

function vacanciesWithinCapacity(value: { vacancies?: number | null; capacity?: number | null }, ctx: z.RefinementCtx): void {
  if (typeof value.vacancies === 'number' && typeof value.capacity === 'number' && value.vacancies > value.capacity) {
    ctx.addIssue({ code: 'custom', path: ['vacancies'], message: 'must not be greater than capacity' });
  }
}

function flatSchemaOf(bounds: BoundsNow) {
  return z
    .strictObject({ productId: id255, optionId: id255, availabilityId: id255, ...slotFields(bounds), ...orderingFields(bounds) })
    .superRefine(vacanciesWithinCapacity)
    .openapi('AvailabilityChange');
}

function nestedSchemaOf(bounds: BoundsNow) {
  return z
    .strictObject({
      productId: id255,
      optionId: id255,
      // An OCTO Availability: its other fields (localDateTimeEnd, openingHours, pricing…) are kept as sent.
      availability: z.looseObject({ id: id255, ...slotFields(bounds) }).superRefine(vacanciesWithinCapacity),
      ...orderingFields(bounds),
      webhook: z.unknown().optional(),
      supplier: z.unknown().optional(),
    })
    .openapi('AvailabilityUpdateEvent');
}

/** Changes one notify call may carry (a batch's `updates`); they always travel in one job. */
export const NOTIFY_BATCH_MAX = 500;

/** One change as the routes handle it: the flat fields, plus the OCTO object when one was sent. */
export type NotifyChange = z.output<ReturnType<typeof flatSchemaOf>> & { raw?: Record<string, unknown> };

/**
 * A notify body once validated: its changes, and whether it was a batch (answered per item); or
 * change hints (pulled, answered with the pull's run).
 */
export type NotifyBody = NotifyChanges | { hints: HintTarget[] };

/** A notify body of slot changes. */
export interface NotifyChanges {
  batch: boolean;
  changes: NotifyChange[];
}

/** The form a body means, by its shape; a flat change when none fits. */
function formKeyOf(body: unknown): 'updates' | 'availability' | 'hint' | 'hints' | 'flat' {
  if (typeof body !== 'object' || body === null) return 'flat';
  return (['updates', 'availability', 'hint', 'hints'] as const).find((key) => key in body) ?? 'flat';
}

/**
 * The notify body's schema. It picks the form by its shape (a batch has `updates`, an OCTO event
 * has `availability`, hints `hint` or `hints`) and validates it, so a bad body gets the problems of the form it meant,
 * every one of them. Times are checked against `bounds()` (the jobs package's `slotTimeBounds`)
 * at each validation, so the schema is built once and follows the clock.
 */
export function createNotifyBodySchema(bounds: BoundsNow) {
  const flatSchema = flatSchemaOf(bounds);
  const nestedSchema = nestedSchemaOf(bounds);
  const batchSchema = z.strictObject({ updates: z.array(flatSchema).min(1).max(NOTIFY_BATCH_MAX) }).openapi('AvailabilityBatch');
  const { hintBodySchema, hintBatchSchema } = hintSchemasOf(bounds);
  return z
    .unknown()
    .transform((body, ctx): NotifyBody => {
      const form = { updates: batchSchema, availability: nestedSchema, hint: hintBodySchema, hints: hintBatchSchema, flat: flatSchema }[formKeyOf(body)];
      const parsed = form.safeParse(body, { error: friendlyErrors });
      if (!parsed.success) {
        for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, message: issue.message });
        return z.NEVER;
      }
      const data = parsed.data;
      if ('hint' in data) return { hints: [toHintTarget(data.hint)] };
      if ('hints' in data) return { hints: data.hints.map(toHintTarget) };
      if ('updates' in data) return { batch: true, changes: data.updates };
      if ('availability' in data) {
        const { id, localDateTimeStart, status, vacancies, capacity } = data.availability;
        const change = { productId: data.productId, optionId: data.optionId, availabilityId: id, localDateTimeStart, status, vacancies, capacity };
        // The object as parsed, not zod's copy: that one loses a `__proto__` key (its assignment sets the prototype).
        const raw = (body as { availability: Record<string, unknown> }).availability;
        return { batch: false, changes: [{ ...change, updatedAt: data.updatedAt, sequence: data.sequence, raw }] };
      }
      return { batch: false, changes: [data] };
    })
    .openapi({ oneOf: [flatSchema, nestedSchema, batchSchema, hintBodySchema, hintBatchSchema].map((schema) => z.toJSONSchema(schema)) as never });
}

// ---------------------------------------------------------------------------------------------
// Accepted change → the job's slot change

/**
 * Receive keys: when a change reached a gateway, as microseconds since 1970 × 1000 plus this
 * gateway's receive tag (0–999, leased from Redis so that no two live gateways hold the same one:
 * see the jobs package's `ReceiveTagLease`). Strictly increasing within a gateway, unique across
 * gateways as far as their clocks agree within the bound the README states (a tag that lapses and
 * is taken by a gateway whose clock is further behind can repeat a key), and comparable across
 * gateways to that same bound. `tag()` throws when no tag is held (the change is then refused, 503).
 */
export function createReceiveClock(tag: () => number, now: () => number = Date.now): () => bigint {
  let lastMicros = 0n;
  return () => {
    const replica = BigInt(tag());
    const micros = BigInt(Math.floor(now() * 1000));
    lastMicros = micros > lastMicros ? micros : lastMicros + 1n;
    return lastMicros * 1000n + replica;
  };
}

/** The job's form of a change, ordered by `sequence`, else `updatedAt`, else its receive key. */
export function toSlotChange(change: NotifyChange, receivedKey: bigint): SlotChange {
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

// ---------------------------------------------------------------------------------------------
// The job's results → the HTTP answer

/** What happened to one change, as the webhook answers it: this schema is the HTTP contract. */
const resultSchema = z
  .union([
    z.object({ updated: z.literal(true) }),
    z.object({ updated: z.literal(false), stale: z.literal(true) }),
    z.object({ updated: z.literal(false), full_sync_queued: z.literal(true) }),
    z.object({ updated: z.literal(false), rejected: z.literal(true) }).openapi({ description: 'The database refused this change’s values; the other changes were applied.' }),
  ])
  .openapi('AvailabilityResult');
type NotifyResult = z.output<typeof resultSchema>;

export const notifyAnswerSchema = z
  .union([resultSchema, z.object({ results: z.array(resultSchema) }), z.object({ queued: z.literal(true) }), z.object({ queued: z.literal(true), run_id: z.string().openapi({ description: 'The pull run a change hint made or joined.' }) })])
  .openapi('AvailabilityAnswer');

/**
 * The HTTP answer for one change, from the worker's result for it. The job result is the
 * worker-to-gateway wire contract (jobs in flight during a deploy must still be read); this answer
 * is the partner's. Field for field the same today, each free to change without the other.
 */
export function presentSlotResult(result: SlotResult): NotifyResult {
  if (result.updated) return { updated: true };
  if ('stale' in result) return { updated: false, stale: true };
  if ('full_sync_queued' in result) return { updated: false, full_sync_queued: true };
  return { updated: false, rejected: true };
}
