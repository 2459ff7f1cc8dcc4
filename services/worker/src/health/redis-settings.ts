import { serversOf, type Redis, type RedisConnection } from '@octo-sync/jobs';
import type { Logger } from '@octo-sync/platform';

export type RedisSettingsReport =
  | { checked: false; reason: string }
  | { checked: true; maxmemoryPolicy: string; aof: boolean; rdb: boolean; warnings: string[] };

/**
 * Checks, at start-up, the Redis settings a queue needs, and warns when they are wrong:
 * - `maxmemory-policy` must be `noeviction`: any other policy lets Redis evict job keys under
 *   memory pressure, and BullMQ then loses or corrupts jobs silently;
 * - persistence (AOF or RDB snapshots) should be on: without it a Redis restart loses every
 *   queued, delayed and scheduled job (the schedulers included, until a worker restarts).
 * On a cluster every master is checked. Managed Redis often refuses CONFIG GET; then the settings
 * are reported as not checked (info).
 */
export async function checkRedisSettings(redis: RedisConnection, log: Logger): Promise<RedisSettingsReport> {
  let settings: ServerSettings[];
  try {
    settings = await Promise.all(serversOf(redis).map(readSettings));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    log.info({ reason }, 'could not check Redis settings (CONFIG GET refused); make sure maxmemory-policy is noeviction and persistence is on');
    return { checked: false, reason };
  }
  // On a cluster every master must be right: the worst one is reported.
  const policy = settings.find((s) => s.policy !== 'noeviction')?.policy ?? 'noeviction';
  const aof = settings.every((s) => s.appendonly === 'yes');
  const rdb = settings.every((s) => s.save.trim() !== '');
  const unpersisted = settings.some((s) => s.appendonly !== 'yes' && s.save.trim() === '');
  const warnings: string[] = [];
  if (policy !== 'noeviction') {
    warnings.push('maxmemory-policy');
    log.warn({ maxmemoryPolicy: policy }, 'Redis maxmemory-policy is not noeviction: Redis may evict queue keys and lose jobs');
  }
  if (unpersisted) {
    warnings.push('persistence');
    log.warn('Redis persistence (AOF and RDB) is off: a Redis restart loses every queued, delayed and scheduled job');
  }
  if (warnings.length === 0) log.info({ maxmemoryPolicy: policy, aof, rdb }, 'Redis settings checked');
  return { checked: true, maxmemoryPolicy: policy, aof, rdb, warnings };
}

interface ServerSettings {
  policy: string;
  appendonly: string;
  save: string;
}

async function readSettings(server: Redis): Promise<ServerSettings> {
  return { policy: await configGet(server, 'maxmemory-policy'), appendonly: await configGet(server, 'appendonly'), save: await configGet(server, 'save') };
}

async function configGet(redis: Redis, parameter: string): Promise<string> {
  const reply: unknown = await redis.config('GET', parameter);
  if (!Array.isArray(reply) || reply.length < 2) throw new Error(`CONFIG GET ${parameter} returned nothing`);
  return String(reply[1]);
}
