import type { Redis } from 'ioredis';
import { createRedis, startConsumer, type PayloadOf, type TestConnectionResult, type testConnectionJob } from '@octo-sync/jobs';
import { createLogger } from '@octo-sync/platform';
import { TEST_REDIS_URL } from '@octo-sync/testkit';
import { BASE, createBody, startGateway, useGateway } from './harness';

const PATH = `${BASE}/me/test-connection`;
const { h, check, partner } = useGateway({ TEST_CONNECTION_WAIT_MS: '3000' });

async function create(sub: string): Promise<string> {
  const res = await h.http().post(BASE).set(partner(sub)).send(createBody());
  expect(res.status).toBe(201);
  return res.body.data._id as string;
}

test('no integration → 404; admin → 403', async () => {
  expect((await h.http().post(PATH).set(partner('p-tc-none'))).status).toBe(404);
  expect((await h.http().post(PATH).set({ Authorization: `Bearer ${h.token('admin', 'a')}` })).status).toBe(403);
});

test('no worker answering within TEST_CONNECTION_WAIT_MS → 503 with Retry-After, and the orphan job is removed', async () => {
  const quick = await startGateway({ TEST_CONNECTION_WAIT_MS: '200' }, h);
  try {
    await create('p-tc-nobody-home');
    const res = await quick.http().post(PATH).set(partner('p-tc-nobody-home'));
    expect(res.status).toBe(503);
    expect(res.body.reason).toBe('TEST_CONNECTION_UNAVAILABLE');
    expect(res.headers['retry-after']).toBe('5');
    check('post', PATH, 503, res.body);
    expect(await h.producer.queue('probes').getJobCounts('waiting', 'active')).toEqual({ waiting: 0, active: 0 });
  } finally {
    await quick.close();
  }
});

describe('the gateway’s waiting logic (a test consumer plays the worker on the probes queue)', () => {
  let worker: ReturnType<typeof startConsumer> | undefined;
  let connection: Redis | undefined;
  const answers = new Map<string, TestConnectionResult | 'throw'>();
  const seen: Array<PayloadOf<typeof testConnectionJob>> = [];

  beforeAll(async () => {
    connection = createRedis(TEST_REDIS_URL, 'worker');
    worker = startConsumer<'probes'>(
      'probes',
      {
        'integration.test-connection': async (payload: PayloadOf<typeof testConnectionJob>) => {
          seen.push(payload);
          const answer = answers.get(payload.integrationId);
          if (answer === 'throw' || answer === undefined) throw new Error('stored secret cannot be decrypted');
          return answer;
        },
      },
      { connection, prefix: h.prefix, log: createLogger({ level: 'silent', name: 'fake-worker' }), concurrency: 2, lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
    );
    await worker.waitUntilReady();
  });
  afterAll(async () => {
    await worker?.close();
    await connection?.quit();
  });

  test('ok: true from the worker → 200 with the result; the job payload carries only the id', async () => {
    const id = await create('p-tc-ok');
    const verdict = { errors: [], warnings: ['the answer has no Octo-Capabilities header (required by OCTO; tolerated)'], stable: false, differences: ['[0].updatedAt: "a", then "b"'] };
    answers.set(id, { ok: true, message: 'Connection successful', status: 200, latency_ms: 84, product_count: 12, ...verdict });
    const res = await h.http().post(PATH).set(partner('p-tc-ok'));
    expect(res.status).toBe(200);
    check('post', PATH, 200, res.body);
    expect(res.body).toEqual({ success: 1, data: { ok: true, message: 'Connection successful', status: 200, latency_ms: 84, product_count: 12, ...verdict } });
    expect(seen.at(-1)).toEqual({ integrationId: id });
  });

  test('ok: false from the worker → 200 with the partner-facing diagnosis', async () => {
    const id = await create('p-tc-401');
    const failure: TestConnectionResult = { ok: false, code: 'SUPPLIER_AUTH_REJECTED', status: 401, latency_ms: 12, message: 'supplier answered 401 Unauthorized: check the auth_key and auth_type', errors: ['SUPPLIER_AUTH_REJECTED: supplier answered 401 Unauthorized: check the auth_key and auth_type'], warnings: [], stable: null, differences: [] };
    answers.set(id, failure);
    const res = await h.http().post(PATH).set(partner('p-tc-401'));
    expect(res.status).toBe(200);
    check('post', PATH, 200, res.body);
    expect(res.body.data).toEqual(failure);
  });

  test('a job that fails in the worker → 503, its reason not shown to the partner', async () => {
    const id = await create('p-tc-throw');
    answers.set(id, 'throw');
    const res = await h.http().post(PATH).set(partner('p-tc-throw'));
    expect(res.status).toBe(503);
    expect(res.text).not.toContain('decrypted');
  });
});
