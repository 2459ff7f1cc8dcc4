import { once } from 'node:events';
import { startService, type ServiceProcess } from '@octo-sync/testkit';
import { BASE, SECRETS_KEY, useGateway } from './harness';

/** Workers announce themselves in Redis; /readyz counts them without letting them decide its status, /admin/queues lists them. */
describe('/readyz counts live workers', () => {
  let worker: ServiceProcess | undefined;
  // Before useGateway: Jest runs afterAll hooks in the order they are declared, and the worker
  // stops before the gateway's database and queue prefix go.
  afterAll(async () => {
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.kill('SIGKILL');
    await worker?.exited;
  });
  const { h: g } = useGateway();
  beforeAll(async () => {
    // The gateway's Redis connection queues nothing while it connects: wait until it is up.
    if (g.redis.status !== 'ready') await once(g.redis, 'ready');
  });

  const ready = async () => {
    const res = await g.http().get('/readyz');
    expect({ status: res.status, body: res.body as unknown }).toMatchObject({ status: 200 });
    return res.body as { status: string; workers: number | null };
  };

  it('0 without workers, 1 while a worker runs, 0 again once it shut down; always 200', async () => {
    expect(await ready()).toMatchObject({ status: 'ok', workers: 0 });

    worker = await startService('worker', {
      DATABASE_URL: g.config.databaseUrl,
      REDIS_URL: g.config.redisUrl,
      QUEUE_PREFIX: g.prefix,
      SECRETS_KEY,
      SCHEDULES_ENABLED: 'false',
      LOG_LEVEL: 'info',
    });
    // The first heartbeat is written before the worker says it started.
    expect(await ready()).toMatchObject({ status: 'ok', workers: 1 });
    const queues = await g.http().get(`${BASE}/admin/queues`).set('Authorization', `Bearer ${g.token('admin', 'ops')}`);
    expect(queues.status).toBe(200);
    expect(queues.body.workers).toEqual([
      { id: expect.any(String), host: expect.any(String), pid: worker.child.pid, startedAt: expect.any(String), lastSeen: expect.any(String) },
    ]);

    worker.kill('SIGTERM');
    expect(await worker.exited).toMatchObject({ code: 0 });
    expect(await ready()).toMatchObject({ status: 'ok', workers: 0 });
  });
});
