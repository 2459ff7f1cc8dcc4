import type { Job } from 'bullmq';
import { CronExpressionParser } from 'cron-parser';

/**
 * Whether `pattern` is a cron pattern BullMQ's Job Scheduler can run: five fields, or six with
 * seconds first. Parsed with cron-parser, the library BullMQ itself uses for `pattern`.
 */
export function isValidCron(pattern: string): boolean {
  const fields = pattern.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) return false;
  try {
    CronExpressionParser.parse(pattern, { tz: 'UTC' }).next();
    return true;
  } catch {
    // cron-parser reports every kind of bad pattern by throwing; the answer is "not valid".
    return false;
  }
}

/** Whether `tz` is an IANA time zone name this Node.js knows. */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    // RangeError for an unknown zone: the answer is "not valid".
    return false;
  }
}

const SCHEDULER_JOB_ID = /^repeat:.+:(\d+)$/;

/**
 * The tick a fan-out job belongs to, in epoch ms. Jobs made by a Job Scheduler have the id
 * `repeat:<schedulerId>:<scheduled millis>`, the same for every worker and every retry of the
 * tick; a fan-out added by hand (tests, an operator) counts from its creation time.
 */
export function tickOf(job: Pick<Job, 'id' | 'timestamp'>): number {
  const match = SCHEDULER_JOB_ID.exec(job.id ?? '');
  return match?.[1] === undefined ? job.timestamp : Number(match[1]);
}

/**
 * Where the `index`-th of `count` runs starts within a window of `spreadMs`: evenly spaced and
 * deterministic, so a retried fan-out puts each integration at the same offset again.
 */
export function spreadDelay(index: number, count: number, spreadMs: number): number {
  if (spreadMs <= 0 || count <= 1) return 0;
  return Math.floor((index * spreadMs) / count);
}
