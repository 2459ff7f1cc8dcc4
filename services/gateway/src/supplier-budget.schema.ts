import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// request-schemas.ts imports this module before it extends zod: extended here too (idempotent).
extendZodWithOpenApi(z);

/** `supplier_budget`; in a patch, fields left out keep their value. */
export const supplierBudgetSchema = z
  .strictObject({
    requests_per_second: z.number().min(0.1).max(1000).optional().openapi({ default: 5, description: 'Calls per second to the supplier, every kind of call and every worker together.' }),
    concurrency: z.number().int().min(1).max(64).optional().openapi({ default: 4, description: 'Calls in flight to the supplier at once.' }),
    throttle_statuses: z
      .array(z.number().int().min(400).max(599))
      .min(1)
      .max(10)
      .refine((list) => new Set(list).size === list.length, 'must not repeat a status')
      .optional()
      .openapi({ default: [429, 503], description: 'Answer statuses that mean "slow down" (add 403 for suppliers that throttle with it): the call waits (`Retry-After`, else a backoff) and is retried, no attempt spent.' }),
  })
  .openapi('SupplierBudget', {
    description: 'The request budget every call to the supplier spends (catalog sync, targeted refresh, pull, health probe, test-connection). A partner may lower its own (fewer requests per second or in flight, more throttle statuses); raising needs an admin.',
  });
