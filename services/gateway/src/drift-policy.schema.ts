import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// request-schemas.ts imports this module before it extends zod: extended here too (idempotent).
extendZodWithOpenApi(z);

/** `drift_policy`: what a sync does when the catalog's shape changed. */
export const driftPolicySchema = z.enum(['accept', 'quarantine', 'block']).openapi({
  description:
    'What a sync does when the catalog’s shape changed (a path added, removed or of another JSON type; a capability dropped): `accept` (default) stores it and reports ' +
    '`supplier.drift`; `quarantine` also holds the products that carry a new path or type as stored until an admin accepts the shape; `block` fails the run with ' +
    '`SUPPLIER_DRIFT`, nothing written, until an admin accepts it. Set by an admin only.',
});
