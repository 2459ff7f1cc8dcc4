import { z } from 'zod';
import { defineJob } from './contract';

export const SLOT_STATUSES = ['AVAILABLE', 'FREESALE', 'LIMITED', 'SOLD_OUT', 'CLOSED'] as const;

/**
 * One slot change as the gateway accepted it, normalised from any of the notify forms.
 * `orderKey` orders changes to one slot (a decimal string: it can exceed 2^53); it is compared
 * only with a stored key of the same `orderSource`.
 */
export const slotChangeSchema = z.object({
  productId: z.string().min(1).max(255),
  optionId: z.string().min(1).max(255),
  availabilityId: z.string().min(1).max(255),
  /** As the supplier sent it, with its offset; absent means "unchanged". */
  localDateTimeStart: z.string().nullable().optional(),
  status: z.enum(SLOT_STATUSES).nullable().optional(),
  vacancies: z.number().int().min(0).nullable().optional(),
  capacity: z.number().int().min(0).nullable().optional(),
  orderSource: z.enum(['sequence', 'updated_at', 'received_at']),
  orderKey: z.string().regex(/^\d{1,19}$/),
  /** When the gateway received it (µs × 1000 + replica tag); absent in jobs queued before it existed. */
  receivedKey: z.string().regex(/^\d{1,19}$/).optional(),
  /**
   * The OCTO availability object as the supplier sent it (nested form), every field kept: taken
   * as it is, not copied (a copy made by assignment loses a `__proto__` key).
   */
  raw: z.custom<Record<string, unknown>>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), 'must be a JSON object').optional(),
});
export type SlotChange = z.output<typeof slotChangeSchema>;

/** What happened to one change, as the notify webhook answers it. */
export type SlotResult =
  | { updated: true }
  | { updated: false; stale: true }
  | { updated: false; full_sync_queued: true }
  /** The database refused this change's values (SQLSTATE class 22 or 23514; validation should have caught them); the others of its batch were applied. */
  | { updated: false; rejected: true };

/** Slot changes of one notify call (1 to 500). The worker applies many jobs' changes per statement. */
export const availabilityApplyJob = defineJob({
  queue: 'availability',
  name: 'availability.apply',
  payload: z.object({ integrationId: z.uuid(), changes: z.array(slotChangeSchema).min(1).max(500) }),
  options: {
    // Postgres being away is the only expected failure: keep trying for a good while (about 17
    // minutes in all), since an acknowledged change must not be lost.
    attempts: 12,
    backoff: { type: 'exponential', delay: 500 },
    // The gateway reads the result back through the completed job; keep it long enough for that.
    removeOnComplete: { age: 3600, count: 50_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
  },
});
