import { z } from 'zod';
import { defineJob } from './contract';

/**
 * "Test the connection now" for one integration: the worker calls `GET {base_url}/products` with
 * the stored credentials through the same outbound client as a sync, and returns a
 * {@link TestConnectionResult}. The gateway waits for it, so it is short-lived: one attempt
 * (the caller is waiting, a retry would answer too late) and a short retention.
 */
export const testConnectionJob = defineJob({
  queue: 'probes',
  name: 'integration.test-connection',
  payload: z.object({ integrationId: z.uuid() }),
  options: {
    attempts: 1,
    removeOnComplete: { age: 15 * 60, count: 1_000 },
    removeOnFail: { age: 60 * 60, count: 1_000 },
  },
});

const latencySchema = z
  .object({
    calls: z.number().int().min(1),
    p50_ms: z.number().int().min(0),
    p90_ms: z.number().int().min(0),
    p99_ms: z.number().int().min(0),
    threshold_ms: z.number().int().min(0),
    within_threshold: z.boolean(),
  })
  .nullable();

/**
 * The conformance report's look beyond the catalog: a sample of availability, how an unknown
 * product id is answered, answer times. Absent from the answer of a worker that predates them.
 */
function probeFields() {
  return {
    availability: z
      .object({
        sample: z.array(z.string()),
        local_date_start: z.string(),
        local_date_end: z.string(),
        slots: z.number().int().min(0),
        calendar: z.enum(['served', 'not_served', 'failed']),
        quirks: z.array(z.string()),
        errors: z.array(z.string()),
      })
      .nullable()
      .optional(),
    unknown_product: z
      .object({
        known_id: z.string(),
        known_status: z.number().int().nullable(),
        unknown_id: z.string(),
        status: z.number().int().nullable(),
        error_code: z.string().nullable(),
        answer: z.enum(['octo', 'tolerated', 'not_understood']),
        note: z.string(),
      })
      .nullable()
      .optional(),
    latency: z.object({ catalog: latencySchema, availability: latencySchema, calendar: latencySchema }).optional(),
    /** Per currency the integration lists, whether one `POST /availability` asked in it was priced in it. */
    currencies: z
      .array(z.object({ currency: z.string(), currencies_seen: z.array(z.string()), honoured: z.boolean().nullable(), error: z.string().optional() }))
      .optional(),
  };
}

/**
 * The conformance report's verdict (the same as `npm run conformance`): every error that would fail
 * a sync, the quirks a sync tolerates, and whether two fetches give the same canonical hash (null
 * when they could not be compared) with the paths that differ. Defaults keep the answer of a worker
 * that predates them valid.
 */
function conformanceFields() {
  return {
    errors: z.array(z.string()).default([]),
    warnings: z.array(z.string()).default([]),
    stable: z.boolean().nullable().default(null),
    differences: z.array(z.string()).default([]),
    ...probeFields(),
  };
}

/**
 * What a connection test found, as the partner sees it (snake_case: it is the HTTP answer).
 * `message` is written for a partner to act on and never contains a credential.
 */
export const testConnectionResultSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    message: z.string(),
    status: z.number().int(),
    latency_ms: z.number().int().min(0),
    product_count: z.number().int().min(0),
    ...conformanceFields(),
  }),
  z.object({
    ok: z.literal(false),
    message: z.string(),
    code: z.string(),
    status: z.number().int().optional(),
    latency_ms: z.number().int().min(0),
    ...conformanceFields(),
  }),
]);

export type TestConnectionResult = z.output<typeof testConnectionResultSchema>;
