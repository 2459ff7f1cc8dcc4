import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '@octo-sync/jobs';
import type { Logger } from '@octo-sync/platform';

/** The Redis pub/sub channel on which gateways announce integrations whose webhook credentials changed. */
export function credentialChannel(queuePrefix: string): string {
  return `${queuePrefix}:gateway:webhook-credentials`;
}

export interface CredentialChangeFeedDeps {
  /** Any connection: publishes. */
  publisher: RedisConnection;
  /** A connection of its own: once subscribed, it can do nothing else. */
  subscriber: RedisConnection;
  channel: string;
  log: Logger;
}

/** What a replica does with the changes it hears of. */
export interface CredentialChangeHandlers {
  /** Another replica changed integration `id` (secret rotated, deleted, deactivated, revoked…). */
  changed: (id: string) => void;
  /** The subscription was (re)established: changes announced while it was down were missed. */
  resync: () => void;
}

/**
 * Webhook credential changes pushed to every gateway replica (Redis pub/sub), so that a secret
 * rotated on one gateway passes on the others at once, with no per-request check. Each message is
 * `<origin> <integration id>`; a replica ignores its own. A message lost while a subscriber was
 * disconnected is covered by `resync` (the replica drops what it cached) and, in any case, by
 * the cache's time bound (WEBHOOK_AUTH_CACHE_MS).
 */
export class CredentialChangeFeed {
  private readonly origin = randomUUID();

  constructor(private readonly deps: CredentialChangeFeedDeps) {}

  /** Subscribes now (or once the subscriber connects) and again after every reconnection. */
  listen(handlers: CredentialChangeHandlers): void {
    const { subscriber, channel, log } = this.deps;
    subscriber.on('message', (from: string, message: string) => {
      const space = message.indexOf(' ');
      if (from !== channel || space < 0 || message.slice(0, space) === this.origin) return;
      const id = message.slice(space + 1);
      log.debug({ integrationId: id }, 'webhook credentials changed on another gateway');
      handlers.changed(id);
    });
    const subscribe = () => {
      subscriber.subscribe(channel).then(
        () => {
          log.debug('subscribed to webhook credential changes');
          handlers.resync();
        },
        (err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not subscribe to webhook credential changes; cached credentials expire after WEBHOOK_AUTH_CACHE_MS'),
      );
    };
    subscriber.on('ready', subscribe);
    if (subscriber.status === 'ready') subscribe();
  }

  /** Tells the other replicas that integration `id` changed (in the background; a failure is logged). */
  publish(id: string): void {
    const { publisher, channel, log } = this.deps;
    publisher.publish(channel, `${this.origin} ${id}`).catch((err: unknown) => {
      log.warn({ err: err instanceof Error ? err.message : String(err), integrationId: id }, 'could not announce a webhook credential change; other gateways see it within WEBHOOK_AUTH_CACHE_MS');
    });
  }
}
