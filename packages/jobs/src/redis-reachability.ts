import { connectionFailureCode, dependencyTarget, type DependencyTarget, type Logger } from '@octo-sync/platform';
import type { RedisConnection, RedisTarget } from './redis';

/** What ioredis says of a command or connection it dropped because the socket went away. */
const CLOSED_MESSAGES = new Set(['Connection is closed.', 'Failed to refresh slots cache.', 'None of startup nodes is available']);

/** Whether a Redis (or BullMQ) error means Redis could not be reached, rather than that it refused something. */
export function isRedisUnreachable(err: unknown): boolean {
  if (connectionFailureCode(err) !== undefined) return true;
  // A cluster that reached no node reports the last node's error beside its own.
  if (connectionFailureCode((err as { lastNodeError?: unknown } | null)?.lastNodeError) !== undefined) return true;
  return err instanceof Error && CLOSED_MESSAGES.has(err.message);
}

/** `REDIS_CLUSTER_NODES` on a cluster, else `REDIS_URL`; never the credentials. */
function targetOf(where: RedisTarget): DependencyTarget {
  if (where.clusterNodes.length === 0) return dependencyTarget('redis', 'REDIS_URL', where.url);
  return { ...dependencyTarget('redis', 'REDIS_CLUSTER_NODES', where.url), url: where.clusterNodes.join(',') };
}

/**
 * One process's view of whether Redis can be reached. Every connection of the process (the one it
 * created, the blocking ones BullMQ duplicates from it, each queue and worker) reports its errors
 * here: an outage is logged once, when it starts (naming the variable and where it points), again
 * every `reminderMs` while it lasts, and once more when Redis answers again. ioredis keeps
 * reconnecting meanwhile (with backoff, up to 2 s apart): nothing else needs to be done.
 */
export class RedisReachability {
  private downSince: number | undefined;
  private reminder: NodeJS.Timeout | undefined;
  private readonly target: DependencyTarget;

  constructor(
    private readonly connection: RedisConnection,
    where: RedisTarget,
    private readonly log: Logger,
    /** How often an outage that goes on is mentioned again (`REDIS_DOWN_REMINDER_MS`). */
    private readonly reminderMs: number,
  ) {
    this.target = targetOf(where);
    connection.on('error', (err: Error) => this.report(err, 'redis connection error'));
    connection.on('ready', () => this.reachable());
  }

  /** Whether Redis is known to be unreachable now. */
  get down(): boolean {
    return this.downSince !== undefined;
  }

  /**
   * Takes an `error` event: an unreachable Redis counts towards the outage (logged once), anything
   * else is logged at error level with `message` and `fields`.
   */
  readonly report = (err: Error, message: string, fields: Record<string, unknown> = {}): void => {
    if (!isRedisUnreachable(err)) {
      this.log.error({ err, ...fields }, message);
      return;
    }
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    this.log.warn({ ...this.target, code: connectionFailureCode(err) ?? err.message }, 'redis unreachable: retrying in the background');
    this.reminder = setInterval(() => this.remind(), this.reminderMs);
    this.reminder.unref();
  };

  /** Stops the reminders (the process is stopping). */
  stop(): void {
    clearInterval(this.reminder);
  }

  private remind(): void {
    // A connection other than ours may have reported the outage; ours is the one that says it ended.
    if (this.connection.status === 'ready') return this.reachable();
    this.log.warn({ ...this.target, downForMs: Date.now() - (this.downSince ?? Date.now()) }, 'redis still unreachable');
  }

  private reachable(): void {
    if (this.downSince === undefined) return;
    this.log.info({ service: this.target.service, variable: this.target.variable, url: this.target.url, downForMs: Date.now() - this.downSince }, 'redis reachable again');
    this.downSince = undefined;
    this.stop();
  }
}

/**
 * Closes a connection whatever state Redis is in: `QUIT` while Redis answers (replies in flight
 * arrive first), else drops the socket and ends the reconnect loop, which would otherwise keep
 * the process alive after everything else stopped.
 */
export async function closeRedis(connection: RedisConnection): Promise<void> {
  if (connection.status === 'ready') {
    try {
      await connection.quit();
      return;
    } catch (err) {
      if (!isRedisUnreachable(err)) throw err;
    }
  }
  connection.disconnect();
}
