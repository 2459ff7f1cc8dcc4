import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// request-schemas.ts imports this module before it extends zod: extended here too (idempotent).
extendZodWithOpenApi(z);

const CURRENCIES_MAX = 10;

/** `currencies`: ISO 4217 codes, the first one primary; an empty list asks for none. */
export const currenciesField = z
  .array(z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code (three capital letters, such as EUR)'))
  .max(CURRENCIES_MAX)
  .refine((list) => new Set(list).size === list.length, 'must not repeat a currency')
  .openapi({
    example: ['EUR', 'USD'],
    description:
      'The currencies the integration sells in (ISO 4217, at most 10). Pulls ask `POST /availability` with `currency` once per listed currency: the first with the pull tiers, the others at the last tier’s interval only. Empty (the default): none asked, prices as the supplier sends them.',
  });

const currencyCheckSchema = z.object({
  honoured: z.boolean().openapi({ description: 'Whether every price of the last answer asked in this currency was in it.' }),
  answered: z.array(z.string()).openapi({ description: 'The currencies that answer’s prices named.' }),
  checked_at: z.string().openapi({ description: 'When the pull that asked ended.' }),
});

/** What the supplier answered per asked currency, as the integration shows it. */
export const currencyChecksSchema = z.record(z.string(), currencyCheckSchema).openapi({
  description:
    'Per asked currency, the last pull’s answer priced in it or not. A currency the supplier ignores (it prices in another) is `honoured: false`: its prices are not stored under it, and the pull run has a warning.',
});

/** The stored `currency_checks` as the integration shows them (entries of another shape left out). */
export function presentCurrencyChecks(stored: unknown): z.output<typeof currencyChecksSchema> {
  if (stored === null || typeof stored !== 'object' || Array.isArray(stored)) return {};
  const out: z.output<typeof currencyChecksSchema> = {};
  for (const [currency, check] of Object.entries(stored)) {
    const parsed = currencyCheckSchema.safeParse(check);
    if (parsed.success) out[currency] = parsed.data;
  }
  return out;
}
