import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import type { PullTier } from '@octo-sync/db';

// request-schemas.ts imports this module before it extends zod: extended here too (idempotent).
extendZodWithOpenApi(z);

const TIERS_MAX = 5;

const tierSchema = z.strictObject({
  days_ahead: z.number().int().min(1).max(365).openapi({ description: 'The tier covers the days after the previous tier’s up to today + this many (tier 0: from today).' }),
  interval_minutes: z.number().int().min(5).max(1440).openapi({ description: 'How often the tier’s days are pulled.' }),
});

/** `availability_pull.tiers`: 1 to 5 tiers, `days_ahead` strictly increasing; every tier out of order is named. */
export const pullTiersField = z
  .array(tierSchema)
  .min(1)
  .max(TIERS_MAX)
  .superRefine((tiers, ctx) => {
    tiers.forEach((tier, i) => {
      const previous = tiers[i - 1];
      if (previous !== undefined && tier.days_ahead <= previous.days_ahead) {
        ctx.addIssue({ code: 'custom', path: [i, 'days_ahead'], message: `must be greater than the previous tier's days_ahead (${previous.days_ahead}): each tier covers the days after the previous one` });
      }
    });
  })
  .openapi({
    description: `1 to ${TIERS_MAX} tiers, \`days_ahead\` strictly increasing (up to 365): each tier covers the days after the previous one's, pulled at its own interval. Default: 3 days every 5 minutes, 30 days hourly, 90 days daily.`,
    example: [
      { days_ahead: 3, interval_minutes: 5 },
      { days_ahead: 30, interval_minutes: 60 },
      { days_ahead: 90, interval_minutes: 1440 },
    ],
  });

/** Tiers as the store takes them. */
export function tiersOf(tiers: z.output<typeof pullTiersField>): PullTier[] {
  return tiers.map((t) => ({ daysAhead: t.days_ahead, intervalMinutes: t.interval_minutes }));
}

/** Tiers as an integration answer shows them. */
export function presentTiers(tiers: readonly PullTier[]): z.output<typeof pullTiersField> {
  return tiers.map((t) => ({ days_ahead: t.daysAhead, interval_minutes: t.intervalMinutes }));
}
