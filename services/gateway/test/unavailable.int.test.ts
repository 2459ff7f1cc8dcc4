import request from 'supertest';
import { createDb } from '@octo-sync/db';
import { createRedis, JobProducer } from '@octo-sync/jobs';
import { createLogger } from '@octo-sync/platform';
import { uniquePrefix } from '@octo-sync/testkit';
import { buildApp } from '../src/app';
import { signToken } from '../src/auth';
import { loadGatewayConfig } from '../src/config';
import { BASE, createBody } from './harness';

// Nothing listens on port 1: Postgres and Redis are both "down" for this app.
const config = loadGatewayConfig({
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/octo_sync',
  REDIS_URL: 'redis://127.0.0.1:1',
  QUEUE_PREFIX: uniquePrefix('gateway-down'),
  JWT_SECRET: 'gateway-test-jwt-secret-0123456789',
  SECRETS_KEY: 'x',
});
const db = createDb({ databaseUrl: config.databaseUrl, secretsKey: config.secretsKey, poolSize: 1 });
const redis = createRedis(config.redisUrl, 'producer');
redis.on('error', () => undefined); // connection refusals are the point of this test
const subscriber = createRedis(config.redisUrl, 'producer');
subscriber.on('error', () => undefined);
const producer = new JobProducer({ connection: redis, prefix: config.queuePrefix });
// One gateway, and Redis is away: any constant tag is unique (main.ts leases one from Redis).
const app = buildApp({ config, db, producer, redis, subscriber, receiveTag: () => 0, log: createLogger({ level: 'silent', name: 'down' }) });

afterAll(async () => {
  await producer.close();
  redis.disconnect();
  subscriber.disconnect();
  await db.close();
});

test('readyz answers 503 naming both dependencies, with Retry-After; healthz stays 200', async () => {
  const ready = await request(app).get('/readyz');
  expect(ready.status).toBe(503);
  expect(ready.body).toEqual({ status: 'unavailable', checks: { postgres: 'down', redis: 'down' }, workers: null });
  expect(ready.headers['retry-after']).toBe('5');
  expect((await request(app).get('/healthz')).status).toBe(200);
});

test('API calls answer 503 SERVICE_UNAVAILABLE, not 500, when Postgres is unreachable', async () => {
  const token = signToken(config.jwt, { role: 'partner', sub: 'p1', ttl: 60 });
  const res = await request(app).post(BASE).set('Authorization', `Bearer ${token}`).send(createBody());
  expect(res.status).toBe(503);
  expect(res.body).toMatchObject({ success: 0, code: 503, reason: 'SERVICE_UNAVAILABLE' });
  expect(res.headers['retry-after']).toBe('5');
  const hook = await request(app).post(`${BASE}/00000000-0000-4000-8000-000000000000/sync/trigger`).set('x-webhook-secret', 'a'.repeat(64));
  expect(hook.status).toBe(503);
});
