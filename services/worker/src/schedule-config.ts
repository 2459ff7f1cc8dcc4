import { z } from 'zod';
import { env } from '@octo-sync/platform';
import type { OutageRule } from './health/health-tick';
import { isValidCron, isValidTimeZone } from './schedules/cron';
import type { ScheduleSettings } from './schedules/register-schedules';

/*
 * The schedules' and health probes' part of the worker's one schema: config.ts composes these
 * fields into it and parses them with the rest, once, at start-up.
 */

/** A cron pattern (five fields, or six with seconds first), checked with cron-parser as BullMQ will run it. */
const cron = (fallback: string) => z.string().default(fallback).refine(isValidCron, 'must be a cron pattern of 5 fields (or 6, seconds first)');
const timeZone = (fallback: string) => z.string().default(fallback).refine(isValidTimeZone, 'must be an IANA time zone name such as UTC or Europe/Lisbon');

export const scheduleFields = {
  // Schedules: every worker registers them at start-up (idempotent upsert of fixed scheduler
  // ids); SCHEDULES_ENABLED=false only stops this process from registering them.
  SCHEDULES_ENABLED: env.bool(true),
  NIGHTLY_SYNC_CRON: cron('0 3 * * *'),
  NIGHTLY_SYNC_TZ: timeZone('UTC'),
  NIGHTLY_SYNC_SPREAD_MS: env.int(600_000, { min: 0, max: 24 * 3_600_000 }),
  HEALTH_PROBE_CRON: cron('*/5 * * * *'),
  HEALTH_PROBE_TZ: timeZone('UTC'),
  HEALTH_PROBE_TIMEOUT_MS: env.int(10_000, { min: 100, max: 120_000 }),
  HEALTH_DOWN_AFTER: env.int(3, { min: 1, max: 1_000 }),
  HEALTH_CONCURRENCY: env.int(10, { min: 1, max: 256 }),
  // Suspected local outage: when more than this share of a tick's probes (and more than
  // HEALTH_OUTAGE_MIN of them) fail, nobody changes state in that tick.
  HEALTH_OUTAGE_RATIO: z.coerce.number({ error: 'must be a number' }).min(0).max(1).default(0.5),
  HEALTH_OUTAGE_MIN: env.int(5, { min: 0 }),
  HEALTH_COLLECT_TIMEOUT_MS: env.int(240_000, { min: 1_000, max: 24 * 3_600_000 }),
  AVAILABILITY_PULL_CRON: cron('* * * * *'),
};

type ScheduleEnv = z.output<z.ZodObject<typeof scheduleFields>>;

export interface HealthConfig {
  /** Probe jobs this process runs at once. */
  concurrency: number;
  /** Deadline of one probe request. */
  probeTimeoutMs: number;
  /** Consecutive failures that make an integration DOWN. */
  downAfter: number;
  outage: OutageRule;
  /** How long a tick's fan-out waits for its probes. */
  collectTimeoutMs: number;
}

export interface SchedulesConfig extends ScheduleSettings {
  /** Whether this process registers the schedules at start-up. */
  enabled: boolean;
  /** Window over which one nightly tick's runs start. */
  nightlySpreadMs: number;
}

export function healthConfig(e: ScheduleEnv): HealthConfig {
  return {
    concurrency: e.HEALTH_CONCURRENCY,
    probeTimeoutMs: e.HEALTH_PROBE_TIMEOUT_MS,
    downAfter: e.HEALTH_DOWN_AFTER,
    collectTimeoutMs: e.HEALTH_COLLECT_TIMEOUT_MS,
    outage: { ratio: e.HEALTH_OUTAGE_RATIO, minimum: e.HEALTH_OUTAGE_MIN },
  };
}

export function schedulesConfig(e: ScheduleEnv): SchedulesConfig {
  return {
    enabled: e.SCHEDULES_ENABLED,
    nightlyCron: e.NIGHTLY_SYNC_CRON,
    nightlyTz: e.NIGHTLY_SYNC_TZ,
    nightlySpreadMs: e.NIGHTLY_SYNC_SPREAD_MS,
    healthCron: e.HEALTH_PROBE_CRON,
    healthTz: e.HEALTH_PROBE_TZ,
    pullCron: e.AVAILABILITY_PULL_CRON,
  };
}
