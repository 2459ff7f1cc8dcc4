import { Cluster, Redis } from 'ioredis';
import { HASH_TAG_REQUIRED, isHashTag } from './keyspace';

export type { Redis };

/**
 * `producer`: for processes that enqueue and wait for results (the gateway). With Redis away a
 * command fails at once (no offline queue), so an HTTP request answers 503 instead of hanging.
 * `worker`: queues commands while reconnecting, as BullMQ workers expect.
 * Both set `maxRetriesPerRequest: null`, which BullMQ requires of the blocking connections it
 * duplicates from them (workers, and the QueueEvents a producer waits with).
 */
export type RedisRole = 'producer' | 'worker';

/** A connection to one Redis or to a Redis Cluster: BullMQ and every key user take either. */
export type RedisConnection = Redis | Cluster;

/** Where Redis is: a cluster when `clusterNodes` (`host:port` seeds) is not empty, else `url`. */
export interface RedisTarget {
  url: string;
  clusterNodes: readonly string[];
}

const NODE = /^(?<host>[^\s:]+|\[[0-9a-fA-F:.]+\]):(?<port>\d{1,5})$/;

/** `host:port` (`[v6]:port`) as ioredis takes it, or undefined when it is not one. */
function parseNode(node: string): { host: string; port: number } | undefined {
  const match = NODE.exec(node.trim());
  const port = Number(match?.groups?.port);
  if (!match?.groups || port < 1 || port > 65_535) return undefined;
  return { host: match.groups.host!.replace(/^\[|\]$/g, ''), port };
}

/**
 * What is wrong with `REDIS_CLUSTER_NODES` and `QUEUE_PREFIX` together, as [variable, message]
 * pairs for a config error (never echoing a value): bad seed nodes, and on a cluster a prefix
 * that is not a hash tag.
 */
export function redisProblems(clusterNodes: readonly string[], queuePrefix: string): Array<[string, string]> {
  const problems = clusterNodes.flatMap((node, i): Array<[string, string]> => (parseNode(node) === undefined ? [['REDIS_CLUSTER_NODES', `entry ${i + 1} is not host:port`]] : []));
  if (clusterNodes.length > 0 && !isHashTag(queuePrefix)) problems.push(['QUEUE_PREFIX', HASH_TAG_REQUIRED]);
  return problems;
}

/** The Redis servers behind a connection: a cluster's masters, or the one Redis. */
export function serversOf(connection: RedisConnection): Redis[] {
  return connection instanceof Cluster ? connection.nodes('master') : [connection];
}

export function createRedis(url: string, role: RedisRole): Redis;
export function createRedis(target: RedisTarget, role: RedisRole): RedisConnection;
export function createRedis(target: string | RedisTarget, role: RedisRole): RedisConnection {
  const options = { maxRetriesPerRequest: null, enableOfflineQueue: role === 'worker', connectionName: `octo-sync:${role}` };
  if (typeof target === 'string') return new Redis(target, options);
  if (target.clusterNodes.length === 0) return new Redis(target.url, options);
  const seeds = target.clusterNodes.map((node) => {
    const seed = parseNode(node);
    if (seed === undefined) throw new Error('REDIS_CLUSTER_NODES: an entry is not host:port');
    return seed;
  });
  return new Cluster(seeds, { redisOptions: { ...options, ...credentialsOf(target.url) }, enableOfflineQueue: options.enableOfflineQueue });
}

/** On a cluster, `REDIS_URL` still gives the user, password and TLS every node is reached with. */
function credentialsOf(url: string): { username?: string; password?: string; tls?: object } {
  const parsed = new URL(url);
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
