import jwt from 'jsonwebtoken';
import { compiledDir, freePort, generateCatalog, startStack, STACK_JWT_SECRET, tryConnect, waitFor, type ServiceProcess, type TestStack } from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';

/** The address and port a process logged with its `msg` line. */
async function listening(service: ServiceProcess, msg: string): Promise<{ host: unknown; port: number }> {
  const line = await service.waitForLog((l) => l.msg === msg);
  return { host: line.host, port: Number(line.port) };
}

/**
 * The real processes, as built and launched in production: `HOST` and `METRICS_HOST` decide where
 * the gateway and the worker's unauthenticated metrics listen (on Linux the whole of 127/8 is
 * local, so 127.0.0.2 is "another interface" without any outside address), and stack traces of the
 * bundles name the TypeScript sources, while partners never see one.
 */
describe('listening addresses and source-mapped traces (gateway + worker processes)', () => {
  let stack: TestStack;
  const admin = `Bearer ${jwt.sign({ role: 'admin' }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: 'ops-listeners', expiresIn: '1h' })}`;

  beforeAll(async () => {
    stack = await startStack('e2e-listeners', { catalog: generateCatalog({ products: 2 }) });
  });
  afterAll(() => stack?.close());

  test('HOST=127.0.0.1: the gateway answers on 127.0.0.1 only; by default on every interface', async () => {
    const bound = await listening(await stack.start('gateway', { HOST: '127.0.0.1' }), 'gateway started');
    expect(bound.host).toBe('127.0.0.1');
    expect((await fetch(`http://127.0.0.1:${bound.port}/healthz`)).status).toBe(200);
    expect(await tryConnect('127.0.0.2', bound.port)).toBe('ECONNREFUSED');

    const open = await listening(await stack.start('gateway'), 'gateway started');
    expect(open.host).toBe('0.0.0.0');
    expect(await tryConnect('127.0.0.2', open.port)).toBe('connected');
  });

  test('METRICS_HOST=127.0.0.1: the worker serves /metrics on 127.0.0.1 only', async () => {
    const port = await freePort();
    const worker = await stack.start('worker', { METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1' });
    expect(await listening(worker, 'metrics listening')).toEqual({ host: '127.0.0.1', port });
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    expect(await tryConnect('127.0.0.2', port)).toBe('ECONNREFUSED');
  });

  test('a failed job’s stack trace (as logs and the dashboard show it) names the TypeScript source; the partner’s sync-log shows none', async () => {
    const gateway = await stack.start('gateway');
    await stack.start('worker');
    const url = await stack.gatewayUrl(gateway);
    const headers = { Authorization: admin, 'content-type': 'application/json' };
    const body = JSON.stringify({ partner_id: 'p-trace', base_url: `${stack.supplier.url}/`, auth_type: 'bearer', auth_key: 'k-trace', handles_ticket_delivery: false, isApproved: false });
    const id = ((await (await fetch(`${url}${BASE}/admin/create`, { method: 'POST', headers, body })).json()) as { data: { _id: string } }).data._id;
    // 401 is permanent: one attempt, a failed job on the catalog queue.
    stack.supplier.behave({ kind: 'status', status: 401 });
    await stack.db.integrations.setApproved(id, true);
    await fetch(`${url}${BASE}/admin/${id}/sync`, { method: 'POST', headers: { Authorization: admin, Prefer: 'respond-async' } });
    const failed = await waitFor('the failed catalog job', async () => (await stack.producer.queue('catalog').getJobs(['failed'])).find((job) => (job.data as { integrationId?: string }).integrationId === id), { timeoutMs: 60_000 });

    const trace = (failed.stacktrace ?? []).join('\n');
    expect(trace).toMatch(/\/(packages|services)\/[\w/.-]+\.ts:\d+:\d+/);
    // No frame left in the compiled bundle (before maps: `<build>/worker.js:1234:5`).
    expect(trace).not.toContain(compiledDir());

    const partner = `Bearer ${jwt.sign({ role: 'partner' }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: 'p-trace', expiresIn: '1h' })}`;
    const log = await waitFor('the failed run in the sync-log', async () => {
      const res = await fetch(`${url}${BASE}/${id}/sync-log`, { headers: { Authorization: partner } });
      const text = await res.text();
      return res.status === 200 && text.includes('"failed"') ? text : undefined;
    });
    expect(log).not.toMatch(/\n\s+at |\bat .+:\d+:\d+|\.ts:\d+/);
  });
});
