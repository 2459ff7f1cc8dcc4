import jwt from 'jsonwebtoken';
import { Client } from 'pg';
import { generateCatalog, SlotCalendar, startStack, STACK_JWT_SECRET, waitFor, withProductRenamed, type TestStack } from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';

interface Run {
  run_id: string;
  kind: string;
  status: string;
  counts: { slots?: Record<string, number> } | null;
  error_code: string | null;
  error_message: string | null;
  product_ids: string[];
}

/**
 * Availability pulls through the real processes (gateway and worker), with the test supplier's
 * changeable calendar behind `POST /availability`: repairs, closures, ordering against pushes on
 * the receive-time line, a failing supplier, and the targeted catalog refresh.
 */
describe('availability pull end to end', () => {
  let stack: TestStack;
  let url: string;
  let id: string;
  let secret: string;
  const owner = `Bearer ${jwt.sign({ role: 'partner' }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: 'pull-partner', expiresIn: '1h' })}`;
  const catalog = generateCatalog({ products: 3, options: 2, units: 1, seed: 16 });
  // Two days from now (UTC): inside today..today+30 in every product's time zone.
  const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
  const calendar = SlotCalendar.generate({ products: catalog, start: day(2), days: 2, times: ['09:00', '14:00'], offset: '+00:00' });
  const slotIds = [`${day(2)}T09:00:00+00:00`, `${day(2)}T14:00:00+00:00`, `${day(3)}T09:00:00+00:00`, `${day(3)}T14:00:00+00:00`];
  const [p0, p1, p2] = catalog.map((p) => p.id) as [string, string, string];
  const o = (product: number, option: number) => catalog[product]!.options[option]!.id;

  /** A call to the integration's owner API; `data` is the envelope's. */
  async function call<T>(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; data: T }> {
    const headers: Record<string, string> = { authorization: owner, ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${BASE}/${id}${path}`, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
    return { status: res.status, data: ((await res.json()) as { data: T }).data };
  }

  /** Asks for a pull (answered at once) and returns its run id. */
  async function requestPull(scope: Record<string, string> = {}): Promise<string> {
    const res = await call<{ run_id: string }>('POST', '/availability/refresh', { body: scope, headers: { prefer: 'respond-async' } });
    expect(res.status).toBe(202);
    return res.data.run_id;
  }

  /** The run as the sync-log shows it. */
  async function logged(runId: string): Promise<Run | undefined> {
    const log = await call<{ runs: Run[] }>('GET', '/sync-log?limit=100');
    return log.data.runs.find((r) => r.run_id === runId);
  }

  const finished = (runId: string) =>
    waitFor(`run ${runId} to finish`, async () => {
      const run = await logged(runId);
      return run?.status === 'succeeded' || run?.status === 'failed' ? run : undefined;
    }, { timeoutMs: 90_000, intervalMs: 100 });

  async function pull(scope: Record<string, string> = {}): Promise<Run> {
    return finished(await requestPull(scope));
  }

  /** The slot as `GET /{id}/availability` shows it. */
  async function slot(productId: string, optionId: string, availabilityId: string) {
    const res = await call<Array<{ availabilityId: string; status: string; vacancies: number | null }>>('GET', `/availability?productId=${productId}&optionId=${optionId}&pageSize=100`);
    return res.data.find((s) => s.availabilityId === availabilityId);
  }

  async function notify(productId: string, optionId: string, availabilityId: string, change: { status: string; vacancies: number }) {
    const res = await fetch(`${url}${BASE}/${id}/availability/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': secret },
      body: JSON.stringify({ productId, optionId, availabilityId, localDateTimeStart: availabilityId, capacity: 20, ...change }),
    });
    expect({ status: res.status, body: await res.json() }).toEqual({ status: 200, body: { success: 1, data: { updated: true } } });
  }

  const availabilityRequests = () => stack.supplier.requests.filter((r) => r.method === 'POST' && r.path === '/availability').length;

  beforeAll(async () => {
    stack = await startStack('e2e-pull', { catalog });
    stack.supplier.setAvailability(calendar);
    // Generous answer bounds, so that the webhooks answer with their outcome even on a slow machine.
    const [gateway] = await Promise.all([stack.start('gateway', { NOTIFY_WAIT_MS: '60000', SYNC_TRIGGER_WAIT_MS: '60000' }), stack.start('worker')]);
    url = await stack.gatewayUrl(gateway);
    const created = await stack.db.integrations.create({
      partnerId: 'pull-partner', baseUrl: stack.supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true,
    });
    id = created.integration.id;
    secret = created.webhookSecret;
    const trigger = await fetch(`${url}${BASE}/${id}/sync/trigger`, { method: 'POST', headers: { 'x-webhook-secret': secret } });
    expect(await trigger.json()).toMatchObject({ success: 1, data: { synced: 3, skipped: false } });
    const fresh = await pull();
    expect(fresh).toMatchObject({ kind: 'availability_pull', status: 'succeeded', counts: { slots: { created: 24, updated: 0, closed: 0 } } });
  });
  afterAll(() => stack.close());

  it('repairs a change the supplier never pushed at the next pull', async () => {
    const [productId, optionId, availabilityId] = [p0, o(0, 0), slotIds[0]!];
    calendar.update(productId, optionId, availabilityId, { status: 'LIMITED', vacancies: 1, capacity: 20 });
    expect(await slot(productId, optionId, availabilityId)).not.toMatchObject({ status: 'LIMITED', vacancies: 1 });
    const run = await pull();
    expect(run).toMatchObject({ status: 'succeeded', counts: { slots: { created: 0, updated: 1, unchanged: 23, closed: 0 } } });
    expect(await slot(productId, optionId, availabilityId)).toMatchObject({ status: 'LIMITED', vacancies: 1 });
  });

  it('closes a slot the supplier dropped, and keeps its row', async () => {
    const [productId, optionId, availabilityId] = [p1, o(1, 1), slotIds[1]!];
    calendar.remove(productId, optionId, availabilityId);
    const run = await pull({ productId, optionId });
    expect(run).toMatchObject({ status: 'succeeded', counts: { slots: { closed: 1 } } });
    expect(await slot(productId, optionId, availabilityId)).toMatchObject({ status: 'CLOSED' });
    const row = await stack.db.prisma.availabilitySlot.findFirst({ where: { integrationId: id, productOctoId: productId, optionOctoId: optionId, availabilityId } });
    expect(row).toMatchObject({ status: 'CLOSED', removedAt: expect.any(Date) });
  });

  it('keeps a push received after the pull’s answer, though the pull writes after it', async () => {
    const [productId, optionId, availabilityId] = [p0, o(0, 1), slotIds[2]!];
    calendar.update(productId, optionId, availabilityId, { status: 'AVAILABLE', vacancies: 7, capacity: 20 });
    const answer = stack.supplier.holdRoute('POST', '/availability');
    const seen = stack.supplier.requests.length;
    const runId = await requestPull({ productId, optionId });
    // The request reached the supplier: the run is claimed. Holding its pull flight's row now
    // makes the pull's fenced write wait after its answer has arrived.
    await stack.supplier.waitForRequests(seen + 1, 60_000);
    const blocker = new Client({ connectionString: stack.database.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT fence FROM pull_flights WHERE integration_id = $1::uuid FOR UPDATE', [id]);
      answer.release();
      // Asked outside the blocker's transaction, which would see one snapshot of pg_stat_activity.
      await waitFor('the pull to have its answer and wait for its write', async () => {
        const [row] = await stack.db.prisma.$queryRaw<Array<{ n: number }>>`
          SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()
            AND wait_event_type = 'Lock' AND query LIKE '%pull_flights%FOR NO KEY UPDATE%'`;
        return row!.n > 0;
      }, { timeoutMs: 60_000 });
      await notify(productId, optionId, availabilityId, { status: 'LIMITED', vacancies: 2 });
      expect(await slot(productId, optionId, availabilityId)).toMatchObject({ status: 'LIMITED', vacancies: 2 });
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    const run = await finished(runId);
    expect(run).toMatchObject({ status: 'succeeded', counts: { slots: { updated: 0, closed: 0 } } });
    expect(await slot(productId, optionId, availabilityId)).toMatchObject({ status: 'LIMITED', vacancies: 2 });
  });

  it('supersedes a push received before the pull’s answer (the supplier held it meanwhile)', async () => {
    const [productId, optionId, availabilityId] = [p1, o(1, 0), slotIds[3]!];
    calendar.update(productId, optionId, availabilityId, { status: 'AVAILABLE', vacancies: 6, capacity: 20 });
    const answer = stack.supplier.holdRoute('POST', '/availability');
    const seen = stack.supplier.requests.length;
    const runId = await requestPull({ productId, optionId });
    await stack.supplier.waitForRequests(seen + 1, 60_000);
    await notify(productId, optionId, availabilityId, { status: 'LIMITED', vacancies: 3 });
    expect(await slot(productId, optionId, availabilityId)).toMatchObject({ status: 'LIMITED', vacancies: 3 });
    answer.release();
    expect(await finished(runId)).toMatchObject({ status: 'succeeded', counts: { slots: { updated: 1 } } });
    expect(await slot(productId, optionId, availabilityId)).toMatchObject({ status: 'AVAILABLE', vacancies: 6 });
  });

  it('shows a supplier answering 500 in the sync-log, and retries until it recovers', async () => {
    const [productId, optionId, availabilityId] = [p2, o(2, 0), slotIds[0]!];
    calendar.update(productId, optionId, availabilityId, { status: 'LIMITED', vacancies: 4, capacity: 20 });
    const first = stack.supplier.holdRoute('POST', '/availability');
    const retry = stack.supplier.holdRoute('POST', '/availability');
    stack.supplier.behave({ kind: 'status', status: 500, times: 1 });
    const seen = stack.supplier.requests.length;
    const runId = await requestPull({ productId, optionId });
    await stack.supplier.waitForRequests(seen + 1, 60_000);
    first.release();
    // The queue's retry reached the supplier; until it answers, the run shows the first failure.
    await stack.supplier.waitForRequests(seen + 2, 60_000);
    expect(await logged(runId)).toMatchObject({ status: 'running', error_code: 'SUPPLIER_SERVER_ERROR', error_message: expect.stringMatching(/500/) });
    retry.release();
    expect(await finished(runId)).toMatchObject({ status: 'succeeded', error_code: null, counts: { slots: { updated: 1 } } });
    expect(await slot(productId, optionId, availabilityId)).toMatchObject({ status: 'LIMITED', vacancies: 4 });
    expect(await stack.db.runs.findRun(runId)).toMatchObject({ attempts: 2 });
  });

  it('fails a pull visibly once every attempt got a 500, and pulls again once the supplier recovers', async () => {
    const [productId, optionId] = [p2, o(2, 1)];
    stack.supplier.behave({ kind: 'status', status: 500 });
    const before = availabilityRequests();
    const failed = await pull({ productId, optionId });
    stack.supplier.behave(null);
    expect(failed).toMatchObject({ status: 'failed', error_code: 'SUPPLIER_SERVER_ERROR', error_message: expect.stringMatching(/500/) });
    // Every attempt of the job (availability.pull: 5) asked the supplier.
    expect(availabilityRequests() - before).toBe(5);
    expect(await pull({ productId, optionId })).toMatchObject({ status: 'succeeded' });
  });

  it('a targeted refresh fetches and writes exactly the named products', async () => {
    const products = async () => {
      const res = await call<Array<{ id: string; content_hash: string; updated_at: string; internal_name: string }>>('GET', '/products?pageSize=100');
      return new Map(res.data.map((p) => [p.id, p]));
    };
    const before = await products();
    // Both change at the supplier; only p0 is named.
    stack.supplier.setCatalog(withProductRenamed(withProductRenamed(catalog, p0, 'renamed p0'), p1, 'renamed p1'));
    const seen = stack.supplier.requests.length;
    const trigger = await fetch(`${url}${BASE}/${id}/sync/trigger`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': secret, prefer: 'respond-async', 'x-request-id': 'e2e-targeted-1' },
      body: JSON.stringify({ productIds: [p0] }),
    });
    expect(trigger.status).toBe(202);
    const run = await finished(((await trigger.json()) as { data: { run_id: string } }).data.run_id);
    expect(run).toMatchObject({ kind: 'catalog', status: 'succeeded', product_ids: [p0], attempts: 1, request_ids: ['e2e-targeted-1'] });
    expect(stack.supplier.requests.slice(seen).map((r) => `${r.method} ${r.path}`)).toEqual([`GET /products/${p0}`]);
    const after = await products();
    expect(after.get(p0)).toMatchObject({ internal_name: 'renamed p0' });
    expect(after.get(p0)!.content_hash).not.toBe(before.get(p0)!.content_hash);
    expect(after.get(p0)!.updated_at).not.toBe(before.get(p0)!.updated_at);
    for (const other of [p1, p2]) expect(after.get(other)).toEqual(before.get(other));
  });

  it('an unchanged targeted refresh answers skipped: true; refreshes name ids not known and record their request ids', async () => {
    const trigger = await fetch(`${url}${BASE}/${id}/sync/trigger`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': secret, 'x-request-id': 'e2e-unchanged-1' },
      body: JSON.stringify({ productIds: [p2, 'no-such-product'] }),
    });
    const answer = ((await trigger.json()) as { data: { run_id: string } }).data;
    expect(answer).toEqual({ synced: 0, skipped: true, run_id: expect.any(String) });
    expect(await logged(answer.run_id)).toMatchObject({
      status: 'skipped',
      attempts: 1,
      request_ids: ['e2e-unchanged-1'],
      warnings: [{ product_id: 'no-such-product', path: 'productIds', reason: expect.stringMatching(/does not know this product/) }],
    });

    const pull = await call<{ run_id: string }>('POST', '/availability/refresh', { body: { productId: 'no-such-product' }, headers: { prefer: 'respond-async', 'x-request-id': 'e2e-pull-1' } });
    expect(await finished(pull.data.run_id)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      request_ids: ['e2e-pull-1'],
      warnings: [{ product_id: 'no-such-product', path: 'productId', reason: expect.stringMatching(/not in the stored catalog/) }],
    });
  });
});
