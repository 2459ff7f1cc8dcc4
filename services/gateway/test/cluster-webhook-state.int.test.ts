import { randomUUID } from 'node:crypto';
import { createRedis, shardedKey, SupplierBudget, type RedisConnection } from '@octo-sync/jobs';
import { createLogger } from '@octo-sync/platform';
import { startRedisCluster, waitFor, type TestRedisCluster } from '@octo-sync/testkit';
import { CredentialChangeFeed, credentialChannel } from '../src/credential-changes';
import { TokenBucketLimiter } from '../src/rate-limit';

/**
 * The gateway's shared webhook state on a real Redis Cluster of three masters: notify's token
 * bucket (one key per integration, each in its own slot) and the credential change feed between
 * two gateways' connections.
 */
let cluster: TestRedisCluster;
const connections: RedisConnection[] = [];
const PREFIX = '{octo-test-cluster}';
const log = createLogger({ level: 'silent', name: 'cluster-webhook-state' });

async function connect(): Promise<RedisConnection> {
  const connection = createRedis({ url: 'redis://127.0.0.1:6379', clusterNodes: cluster.nodes }, 'producer');
  connections.push(connection);
  await waitFor('the cluster connection', () => connection.status === 'ready');
  return connection;
}

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
});
afterAll(async () => {
  for (const connection of connections) connection.disconnect();
  await cluster?.close();
});

test('notify buckets of integrations in different slots each take their burst, then refuse', async () => {
  const redis = await connect();
  const bucket = new TokenBucketLimiter(redis, (key) => shardedKey(PREFIX, 'gateway:rate:notifyBucket', key), 500, 1, 60_000);
  const ids = Array.from({ length: 12 }, () => randomUUID());
  const masters = new Set(await Promise.all(ids.map((id) => cluster.masterOf(shardedKey(PREFIX, 'gateway:rate:notifyBucket', id)))));
  expect(masters.size).toBeGreaterThan(1);
  for (const id of ids) {
    expect((await bucket.take(id, 500)).allowed).toBe(true);
    const refused = await bucket.take(id, 1);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterS).toBeLessThanOrEqual(60);
  }
});

test('supplier budgets of integrations in different slots run their two-key scripts by SHA on their own master', async () => {
  const redis = await connect();
  const budget = new SupplierBudget(redis, PREFIX, { leaseTtlMs: 60_000, slowForMs: 0, backoffBaseMs: 100, backoffMaxMs: 1_000, maxHoldMs: 60_000 });
  const ids = Array.from({ length: 12 }, () => randomUUID());
  const masters = new Set(await Promise.all(ids.map((id) => cluster.masterOf(shardedKey(PREFIX, 'supplier-budget', id, 'state')))));
  expect(masters.size).toBeGreaterThan(1);
  for (const id of ids) {
    const permit = await budget.permit(id, { requestsPerSecond: 1, concurrency: 4 });
    if (!permit.granted) throw new Error('the first permit of a fresh budget was refused');
    await budget.release(id, permit.lease);
    expect(await budget.takeShare(id, 1, 1, 1)).toBe(true);
    expect(await budget.throttled(id, 30_000)).toBeLessThanOrEqual(30_000);
    expect(await budget.permit(id, { requestsPerSecond: 1, concurrency: 4 })).toMatchObject({ granted: false, slowed: true });
  }
});

test('a credential change published by one gateway reaches another through the cluster', async () => {
  const [publisher, mine, theirs] = [await connect(), await connect(), await connect()];
  const channel = credentialChannel(PREFIX);
  const heard: string[] = [];
  let subscribed = 0;
  new CredentialChangeFeed({ publisher, subscriber: theirs, channel, log }).listen({ changed: (id) => heard.push(id), resync: () => subscribed++ });
  const feed = new CredentialChangeFeed({ publisher, subscriber: mine, channel, log });
  const own: string[] = [];
  feed.listen({ changed: (id) => own.push(id), resync: () => subscribed++ });
  await waitFor('both gateways to subscribe', () => subscribed === 2);
  const id = randomUUID();
  feed.publish(id);
  await waitFor('the other gateway to hear of it', () => heard.includes(id));
  // A gateway ignores its own announcements (it has already applied them).
  expect(own).toEqual([]);
});
