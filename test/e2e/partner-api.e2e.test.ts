import jwt from 'jsonwebtoken';
import { generateCatalog, startStack, STACK_JWT_SECRET, waitFor, type ServiceProcess, type TestStack } from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';

/**
 * The README walk-through, with the gateway and a worker as real processes: a partner goes from
 * nothing to a synced catalog over HTTP alone, then sees failures reported in words it can act on.
 */
describe('partner API end to end (gateway + worker processes)', () => {
  let stack: TestStack;
  let url: string;
  let services: ServiceProcess[];
  // Tokens as an identity provider would mint them: HS256 with the gateway's JWT_SECRET.
  const sign = (role: string, sub: string) => jwt.sign({ role }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: sub, expiresIn: '1h' });
  const partner = `Bearer ${sign('partner', 'partner-e2e')}`;
  const admin = `Bearer ${sign('admin', 'ops')}`;

  async function call(method: string, path: string, options: { auth?: string; body?: unknown; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.auth) headers.Authorization = options.auth;
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${url}${path}`, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: (text ? JSON.parse(text) : undefined) as { data: Record<string, unknown> & { runs?: Array<Record<string, unknown>> } } };
  }

  beforeAll(async () => {
    stack = await startStack('e2e-partner', { catalog: generateCatalog({ products: 4 }) });
    services = await Promise.all([stack.start('gateway'), stack.start('worker')]);
    url = await stack.gatewayUrl(services[0]!);
  });
  afterAll(() => stack.close());

  test('create → approve (first sync) → test connection → trigger → sync-log; failures are reported, the secret never leaks', async () => {
    // Ready once both processes' connections are up (the gateway may log 'started' a moment before).
    await waitFor('the gateway to be ready', async () => (await call('GET', '/readyz')).status === 200);

    const created = await call('POST', BASE, {
      auth: partner,
      body: { base_url: `${stack.supplier.url}/`, auth_type: 'bearer', auth_key: 'sk_e2e_key_000111', handles_ticket_delivery: false },
    });
    expect(created.status).toBe(201);
    const id = created.body.data._id as string;
    const secret = created.body.data.webhook_secret as string;
    expect(created.body.data).toMatchObject({ base_url: stack.supplier.url, isApproved: false });

    // Not approved yet: the webhook is refused with 409.
    const early = await call('POST', `${BASE}/${id}/sync/trigger`, { headers: { 'x-webhook-secret': secret } });
    expect(early.status).toBe(409);

    const approved = await call('POST', `${BASE}/admin/${id}/approve`, { auth: admin });
    expect(approved.status).toBe(200);
    // Approval queues a first sync, which the worker runs.
    await waitFor('the first (admin) sync to succeed', async () => {
      const log = await call('GET', `${BASE}/${id}/sync-log`, { auth: partner });
      return log.body.data.runs?.[0]?.status === 'succeeded' ? log : undefined;
    });

    const tested = await call('POST', `${BASE}/me/test-connection`, { auth: partner });
    expect(tested.status).toBe(200);
    expect(tested.body.data).toEqual({
      ok: true,
      message: 'Connection successful',
      status: 200,
      latency_ms: expect.any(Number),
      product_count: 4,
      errors: [],
      warnings: expect.any(Array),
      stable: true,
      differences: [],
      // Beyond the catalog: a sample of availability, the unknown product, answer times.
      availability: expect.objectContaining({ sample: expect.any(Array), calendar: 'not_served', errors: [] }),
      unknown_product: expect.objectContaining({ status: 400, error_code: 'INVALID_PRODUCT_ID', answer: 'octo' }),
      latency: { catalog: expect.objectContaining({ calls: 2 }), availability: expect.objectContaining({ calls: 3 }), calendar: null },
    });

    // Same catalog: the webhook run is skipped.
    const unchanged = await call('POST', `${BASE}/${id}/sync/trigger`, { headers: { 'x-webhook-secret': secret } });
    expect(unchanged.status).toBe(200);
    expect(unchanged.body.data).toEqual({ synced: 0, skipped: true, run_id: expect.any(String) });

    // A changed catalog is written: `synced` counts the catalog's products.
    stack.supplier.setCatalog(generateCatalog({ products: 5 }));
    const changed = await call('POST', `${BASE}/${id}/sync/trigger`, { headers: { 'x-webhook-secret': secret } });
    expect(changed.status).toBe(200);
    expect(changed.body.data).toMatchObject({ skipped: false, run_id: expect.any(String) });
    expect(changed.body.data.synced).toBeGreaterThan(0);

    // Prefer: respond-async answers 202 with the sync-log as Location.
    const async = await call('POST', `${BASE}/${id}/sync/trigger`, { headers: { 'x-webhook-secret': secret, Prefer: 'respond-async' } });
    expect(async.status).toBe(202);
    expect(async.headers.get('location')).toBe(`${BASE}/${id}/sync-log`);
    await waitFor('the async run to finish', async () => {
      const log = await call('GET', `${BASE}/${id}/sync-log`, { auth: partner });
      return log.body.data.runs?.find((r) => r.run_id === async.body.data.run_id && r.status !== 'queued' && r.status !== 'running');
    });

    // The supplier rejects our key: test-connection says so, a trigger answers 200 with the error.
    stack.supplier.behave({ kind: 'status', status: 401 });
    const rejected = await call('POST', `${BASE}/me/test-connection`, { auth: partner });
    expect(rejected.status).toBe(200);
    expect(rejected.body.data).toMatchObject({ ok: false, code: 'SUPPLIER_AUTH_REJECTED', status: 401 });
    const failed = await call('POST', `${BASE}/${id}/sync/trigger`, { headers: { 'x-webhook-secret': secret } });
    expect(failed.status).toBe(200);
    expect(failed.body.data).toMatchObject({ synced: 0, skipped: false, error: expect.stringContaining('401') });
    stack.supplier.behave(null);

    const log = await call('GET', `${BASE}/${id}/sync-log?limit=10`, { auth: partner });
    expect(log.status).toBe(200);
    const statuses = (log.body.data.runs ?? []).map((r) => r.status);
    expect(statuses[0]).toBe('failed');
    expect(statuses).toEqual(expect.arrayContaining(['succeeded', 'skipped', 'failed']));
    expect(log.body.data.sync).toMatchObject({ status: 'error', error_message: expect.stringContaining('auth_key') });

    for (const p of services) expect(JSON.stringify(p.lines)).not.toContain(secret);
    for (const p of services) expect(JSON.stringify(p.lines)).not.toContain('sk_e2e_key_000111');
  });
});
