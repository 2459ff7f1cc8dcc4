import { z } from 'zod';
import { HINT_SPAN_MAX_DAYS, type HintTarget } from '@octo-sync/db';
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
const dayNumber = (date: string): number => Date.parse(`${date}T00:00:00Z`) / 86_400_000;

const hintSchema = z
  .strictObject({
    productId: id255,
    optionId: id255.optional().openapi({ description: 'Left out: every active option of the product.' }),
    localDateStart: z.iso.date().openapi({ description: 'First local date that changed (`YYYY-MM-DD`).', example: '2026-07-01' }),
    localDateEnd: z.iso.date().openapi({ description: `Last local date that changed, on or after localDateStart, at most ${HINT_SPAN_MAX_DAYS} days in all.`, example: '2026-07-03' }),
  })
  .superRefine((hint, ctx) => {
    const span = dayNumber(hint.localDateEnd) - dayNumber(hint.localDateStart);
    if (span < 0) ctx.addIssue({ code: 'custom', path: ['localDateEnd'], message: 'must not be before localDateStart' });
    else if (span >= HINT_SPAN_MAX_DAYS) ctx.addIssue({ code: 'custom', path: ['localDateEnd'], message: `must be at most ${HINT_SPAN_MAX_DAYS} days from localDateStart (both included)` });
  })
  .openapi('AvailabilityHint');

/** `{"hint": {...}}`: one change hint. */
export const hintBodySchema = z.strictObject({ hint: hintSchema }).openapi('AvailabilityHintBody');
/** `{"hints": [...]}`: up to {@link HINT_BATCH_MAX} change hints. */
export const hintBatchSchema = z.strictObject({ hints: z.array(hintSchema).min(1).max(HINT_BATCH_MAX) }).openapi('AvailabilityHintBatch');

/** A hint as the pull takes it. */
export function toHintTarget(hint: z.output<typeof hintSchema>): HintTarget {
  return { productId: hint.productId, ...(hint.optionId === undefined ? {} : { optionId: hint.optionId }), from: hint.localDateStart, to: hint.localDateEnd };
}
