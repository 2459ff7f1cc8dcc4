import type { JobsOptions } from 'bullmq';
import { z } from 'zod';

/**
 * Everything both sides of a queue must agree on for one kind of job, declared once:
 * the queue it lives in, its wire name (never renamed in place: a breaking change is a new name),
 * the payload schema (ids and small scalars only, never secrets or catalogs: BullMQ stores job
 * data in clear), the default options and the deduplication rule (its BullMQ job id).
 */
export interface JobContract<Q extends string = string, N extends string = string, S extends z.ZodType = z.ZodType> {
  readonly queue: Q;
  readonly name: N;
  readonly payload: S;
  readonly options: JobsOptions;
  /** Job id derived from the payload: a second add with the same id is a no-op while the job exists. */
  readonly jobId?: (payload: z.output<S>) => string;
}

export function defineJob<Q extends string, N extends string, S extends z.ZodType>(contract: JobContract<Q, N, S>): JobContract<Q, N, S> {
  return contract;
}

export type PayloadOf<C extends JobContract> = z.output<C['payload']>;

/**
 * The gateway request (its `x-request-id`) that put a job on a queue, as an optional payload field:
 * the consumer binds it to every log line of the job, so one id finds a webhook, its job and its run.
 */
export const requestIdField = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/).optional();

/** The request id a job's payload carries, if any. */
export function requestIdOf(payload: unknown): string | undefined {
  const id = typeof payload === 'object' && payload !== null ? (payload as { requestId?: unknown }).requestId : undefined;
  return typeof id === 'string' ? id : undefined;
}
