/**
 * Where every Redis key of a deployment lives, derived from `QUEUE_PREFIX` alone so that every
 * gateway and worker agrees on it.
 *
 * Redis Cluster runs a script or a MULTI only when all its keys hash to one slot, and a key's slot
 * is that of its hash tag (the text between its first `{` and the next `}`) when it has one. So
 * on a cluster `QUEUE_PREFIX` must be a hash tag such as `{octo-sync}`, and then:
 * - each queue gets a tag of its own, `{octo-sync:catalog}`, `{octo-sync:availability}`…: every
 *   key of one queue shares a slot (BullMQ's scripts need that) while the queues spread over the
 *   masters;
 * - per-integration keys (rate limits, replay ids) take the integration as their tag,
 *   `octo-sync:webhook-replay:{<id>}:…`, so they spread over every master too;
 * - the few deployment-wide keys (worker heartbeats, gateways' receive tags) stay under the
 *   prefix's own tag.
 * Without braces (a single Redis) queues keep the prefix as it is.
 */

const HASH_TAG = /^\{([^{}]+)\}$/;

/** Why a cluster needs a hash-tag prefix: the message start-up refuses a wrong one with. */
export const HASH_TAG_REQUIRED =
  'must be a hash tag such as {octo-sync} (braces included) when REDIS_CLUSTER_NODES is set: Redis Cluster runs a script only when all its keys hash to one slot, and BullMQ scripts touch many keys of a queue';

/** Whether `prefix` is a hash tag, `{name}`, as Redis Cluster needs. */
export function isHashTag(prefix: string): boolean {
  return HASH_TAG.test(prefix);
}

/** The prefix without its braces: the start of keys that must not take the prefix's slot. */
function bareName(prefix: string): string {
  return HASH_TAG.exec(prefix)?.[1] ?? prefix;
}

/** The BullMQ prefix of one queue: its own hash tag when `prefix` is one, else `prefix`. */
export function queueKeyPrefix(prefix: string, queue: string): string {
  return isHashTag(prefix) ? `{${bareName(prefix)}:${queue}}` : prefix;
}

/**
 * A key in the slot of `shard` (an integration id, a client address): `<name>:<kind>:{<shard>}`
 * then `:<rest>` when given. Single-key scripts only, so any shard value is safe.
 */
export function shardedKey(prefix: string, kind: string, shard: string, rest?: string): string {
  const key = `${bareName(prefix)}:${kind}:{${shard}}`;
  return rest === undefined ? key : `${key}:${rest}`;
}
