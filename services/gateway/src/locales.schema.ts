import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// request-schemas.ts imports this module before it extends zod: extended here too (idempotent).
extendZodWithOpenApi(z);

/** `locales`: BCP 47 tags, the first deciding the catalog's structure; case-insensitive duplicates refused. */
export const localesSchema = z
  .array(z.string().regex(/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/, 'must be a BCP 47 language tag, such as en, de-DE or zh-Hant'))
  .min(1)
  .max(10)
  .refine((list) => new Set(list.map((l) => l.toLowerCase())).size === list.length, 'must not repeat a locale')
  .openapi('Locales', {
    description:
      'The languages (BCP 47) a sync fetches content in, one `GET /products` each (`Accept-Language`, `octo/content`). The first one\'s answer decides the catalog (products, options, units); the others add their localised fields. Default `["en"]`.',
    example: ['en', 'de', 'fr'],
  });
