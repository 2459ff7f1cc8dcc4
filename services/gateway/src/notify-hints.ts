import { z } from 'zod';
import { dayNumber, HINT_SPAN_MAX_DAYS, type HintTarget } from '@octo-sync/db';
import type { SlotTimeBounds } from '@octo-sync/jobs';
// Puts `.openapi()` on zod before the schemas below are built.
import './request-schemas';

/*
 * Change hints: a notify body that says only "this product's (or option's) availability changed
 * over these dates", with no slot data (the form some suppliers' OCTO webhooks send). A hint
 * becomes a pull of that window (PullRequests.hint); these are its body forms.
 */

/** Hints one notify call may carry (`{"hints": [...]}`). */
const HINT_BATCH_MAX = 100;

const id255 = z.string().min(1).max(255);

const dateOf = (instant: number): string => new Date(instant).toISOString().slice(0, 10);

/**
 * The hint forms, checked against `bounds()` (the slot start bounds notify uses, taken at each
 * validation): a hint ending before the first storable date, or starting after the last, asks for
 * slots that could never be stored, so it is a 400 naming its field rather than a 202 and a pull.
 */
export function hintSchemasOf(bounds: () => SlotTimeBounds) {
  const hintSchema = z
    .strictObject({
      productId: id255,
      optionId: id255.optional().openapi({ description: 'Left out: every active option of the product.' }),
      localDateStart: z.iso.date().openapi({ description: 'First local date that changed (`YYYY-MM-DD`), at most today plus 2 years.', example: '2026-07-01' }),
      localDateEnd: z.iso.date().openapi({ description: `Last local date that changed, on or after localDateStart, at most ${HINT_SPAN_MAX_DAYS} days in all, not before today minus AVAILABILITY_RETENTION_DAYS.`, example: '2026-07-03' }),
    })
    .superRefine((hint, ctx) => {
      const span = dayNumber(hint.localDateEnd) - dayNumber(hint.localDateStart);
      if (span < 0) ctx.addIssue({ code: 'custom', path: ['localDateEnd'], message: 'must not be before localDateStart' });
      else if (span >= HINT_SPAN_MAX_DAYS) ctx.addIssue({ code: 'custom', path: ['localDateEnd'], message: `must be at most ${HINT_SPAN_MAX_DAYS} days from localDateStart (both included)` });
      const { earliestStart, latestStart } = bounds();
      // The bounds are UTC instants a day wider than every time zone's today: compared as dates.
      if (hint.localDateEnd < dateOf(earliestStart)) ctx.addIssue({ code: 'custom', path: ['localDateEnd'], message: `must not be before ${dateOf(earliestStart)} (today minus AVAILABILITY_RETENTION_DAYS): those slots are no longer kept` });
      if (hint.localDateStart > dateOf(latestStart)) ctx.addIssue({ code: 'custom', path: ['localDateStart'], message: `must not be after ${dateOf(latestStart)} (today plus 2 years): such slots are not stored` });
    })
    .openapi('AvailabilityHint');
  return {
    /** `{"hint": {...}}`: one change hint. */
    hintBodySchema: z.strictObject({ hint: hintSchema }).openapi('AvailabilityHintBody'),
    /** `{"hints": [...]}`: up to {@link HINT_BATCH_MAX} change hints. */
    hintBatchSchema: z.strictObject({ hints: z.array(hintSchema).min(1).max(HINT_BATCH_MAX) }).openapi('AvailabilityHintBatch'),
  };
}

type HintFields = { productId: string; optionId?: string | undefined; localDateStart: string; localDateEnd: string };

/** A hint as the pull takes it. */
export function toHintTarget(hint: HintFields): HintTarget {
  return { productId: hint.productId, ...(hint.optionId === undefined ? {} : { optionId: hint.optionId }), from: hint.localDateStart, to: hint.localDateEnd };
}
