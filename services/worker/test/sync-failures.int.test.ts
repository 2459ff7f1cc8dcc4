import { createRedis, SupplierBudget } from '@octo-sync/jobs';
import { generateCatalog, TEST_REDIS_URL } from '@octo-sync/testkit';
import { startHarness, storedCatalog, type Harness } from './harness';

/**
 * Every way a supplier can misbehave ends in the right run status, error code, retry decision and
 * integration sync state, and never touches the catalog already stored.
 */
describe('catalog.sync: failures', () => {
  let h: Harness;
  let integrationId: string;
  const catalog = generateCatalog({ products: 4, options: 1, units: 2, seed: 3 });
  let good: Awaited<ReturnType<typeof storedCatalog>>;

  beforeAll(async () => {
    h = await startHarness({ OCTO_HEADERS_TIMEOUT_MS: '300', OCTO_BODY_TIMEOUT_MS: '300', OCTO_MAX_BODY_BYTES: '200000' });
    integrationId = await h.createIntegration();
    h.supplier.setCatalog(catalog);
    await h.sync(integrationId);
    good = await storedCatalog(h.db, integrationId);
  });
  afterEach(() => h.supplier.behave(null));
  afterAll(() => h.close());

  /** Runs one sync against a misbehaving supplier; returns the run and how many requests it made. */
  async function failingSync(setup: () => void) {
    const before = h.supplier.requests.length;
    setup();
    const run = await h.sync(integrationId);
    h.supplier.behave(null);
    expect(await storedCatalog(h.db, integrationId)).toEqual(good);
    const integration = await h.db.integrations.findById(integrationId);
    return { run, requests: h.supplier.requests.length - before, integration: integration! };
  }

  const permanent: Array<[string, () => void, string, RegExp]> = [
    ['401 from the supplier', () => h.supplier.behave({ kind: 'status', status: 401 }), 'SUPPLIER_AUTH_REJECTED', /401/],
    ['403 from the supplier', () => h.supplier.behave({ kind: 'status', status: 403 }), 'SUPPLIER_AUTH_REJECTED', /403/],
    ['404 from the supplier', () => h.supplier.behave({ kind: 'status', status: 404 }), 'SUPPLIER_HTTP_ERROR', /404/],
    [
      'an OCTO UNAUTHORIZED error sent with status 400',
      () => h.supplier.behave({ kind: 'status', status: 400, body: JSON.stringify({ error: 'UNAUTHORIZED', errorMessage: 'bad key' }) }),
      'SUPPLIER_AUTH_REJECTED',
      /.+/,
    ],
    ['invalid JSON', () => h.supplier.behave({ kind: 'invalidJson' }), 'CATALOG_NOT_JSON', /JSON/i],
    ['a plain-text body', () => h.supplier.setRawBody('Service temporarily down for maintenance', 'text/plain'), 'CATALOG_NOT_JSON', /JSON/i],
    ['a body past the size cap', () => h.supplier.behave({ kind: 'oversized', bytes: 500_000, withContentLength: false }), 'SUPPLIER_BODY_TOO_LARGE', /.+/],
    [
      'a structurally broken catalog',
      () => h.supplier.setCatalog([{ id: 'p1', options: [{ id: 'o1' }] }, { id: 'p2' }, { options: [] }]),
      'CATALOG_INVALID',
      /options/,
    ],
    [
      'a redirect to a private address',
      () => h.supplier.behave({ kind: 'redirect', location: 'http://169.254.169.254/latest/meta-data' }),
      'SUPPLIER_REDIRECT_BLOCKED',
      /supplier redirected to http:\/\/169\.254\.169\.254/,
    ],
  ];

  it.each(permanent)('%s fails the run at once, without retry', async (_label, setup, code, message) => {
    const { run, requests, integration } = await failingSync(setup);
    h.supplier.setCatalog(catalog);
    expect(run).toMatchObject({ status: 'failed', errorCode: code, attempts: 1 });
    expect(run.errorMessage).toMatch(message);
    expect(run.errorMessage).not.toContain('sk_test');
    expect(run.finishedAt).toBeInstanceOf(Date);
    expect(requests).toBe(1);
    expect(integration).toMatchObject({ syncStatus: 'error', syncErrorCode: code, syncErrorMessage: run.errorMessage });
  });

  const passing: Array<[string, () => void]> = [
    ['500 from the supplier', () => h.supplier.behave({ kind: 'status', status: 500, times: 2 })],
    ['slow headers', () => h.supplier.behave({ kind: 'slowHeaders', ms: 2_000, times: 2 })],
    ['a slow body', () => h.supplier.behave({ kind: 'slowBody', ms: 2_000, times: 2 })],
    ['a truncated body', () => h.supplier.behave({ kind: 'truncated', times: 2 })],
    ['a hang-up', () => h.supplier.behave({ kind: 'hangUp', times: 2 })],
  ];

  it.each(passing)('%s is retried, and the run succeeds once the supplier recovers', async (_label, setup) => {
    const before = h.supplier.requests.length;
    setup();
    const { runId, finished } = await h.enqueueRun(integrationId);
    const run = await finished;
    expect(run).toMatchObject({ id: runId, status: 'skipped', attempts: 3, errorCode: null });
    expect(h.supplier.requests.length - before).toBe(3);
    expect(await h.db.integrations.findById(integrationId)).toMatchObject({ syncStatus: 'idle', syncErrorCode: null });
  });

  it('503 (a throttling status by default) is waited out and retried without spending an attempt', async () => {
    const before = h.supplier.requests.length;
    h.supplier.behave({ kind: 'status', status: 503, times: 2 });
    const { runId, finished } = await h.enqueueRun(integrationId);
    expect(await finished).toMatchObject({ id: runId, status: 'skipped', attempts: 1, errorCode: null });
    expect(h.supplier.requests.length - before).toBe(3);
  });

  it('a supplier that keeps failing ends the run failed after the last attempt', async () => {
    const { run, requests, integration } = await failingSync(() => h.supplier.behave({ kind: 'status', status: 502 }));
    expect(run).toMatchObject({ status: 'failed', errorCode: 'SUPPLIER_SERVER_ERROR', attempts: 5 });
    expect(requests).toBe(5);
    expect(integration.syncStatus).toBe('error');
  });

  it("429 is retried no sooner than the supplier's Retry-After", async () => {
    const before = h.supplier.requests.length;
    h.supplier.behave({ kind: 'status', status: 429, headers: { 'Retry-After': '1' }, times: 1 });
    const run = await (await h.enqueueRun(integrationId)).finished;
    // A throttled answer spends no attempt: the call is retried once the supplier's time has come.
    expect(run).toMatchObject({ status: 'skipped', attempts: 1 });
    const [first, second] = h.supplier.requests.slice(before);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
  });

  const hugeRetryAfters: Array<[string, () => string, number]> = [
    ['a day in seconds', () => '86400', 86_400],
    ['an HTTP date years ahead', () => new Date(Date.now() + 3 * 365 * 86_400_000).toUTCString(), 3 * 365 * 86_400],
  ];

  it.each(hugeRetryAfters)('a Retry-After of %s past THROTTLE_MAX_MS fails the run at once, and holds the supplier no longer than it', async (_label, retryAfter, askedS) => {
    const id = await h.createIntegration();
    const before = h.supplier.requests.length;
    h.supplier.behave({ kind: 'status', status: 429, headers: { 'Retry-After': retryAfter() } });
    const run = await h.sync(id);
    expect(run).toMatchObject({ status: 'failed', errorCode: 'SUPPLIER_THROTTLED', attempts: 1 });
    // Up to a second of rounding between the header's date and the parse.
    expect(run.errorMessage).toMatch(new RegExp(`asked to wait (${askedS - 1}|${askedS}) s`));
    expect(h.supplier.requests.length - before).toBe(1);
    expect(run.throttledMs).toBeLessThan(h.config.budget.throttleMaxMs);
    const redis = createRedis(TEST_REDIS_URL, 'worker');
    try {
      const budget = new SupplierBudget(redis, h.config.queuePrefix, { leaseTtlMs: 1_000, slowForMs: 0, backoffBaseMs: 1, backoffMaxMs: 1, maxHoldMs: 1 });
      const permit = await budget.permit(id, { requestsPerSecond: 5, concurrency: 4 });
      expect(permit).toMatchObject({ granted: false, slowed: true });
      expect(permit.granted ? 0 : permit.waitMs).toBeLessThanOrEqual(h.config.budget.throttleMaxMs);
    } finally {
      redis.disconnect();
    }
  });

  it('a run for an integration that is not approved fails without calling the supplier', async () => {
    const id = await h.createIntegration({ isApproved: false });
    const before = h.supplier.requests.length;
    const run = await h.sync(id);
    expect(run).toMatchObject({ status: 'failed', errorCode: 'INTEGRATION_NOT_APPROVED', attempts: 1 });
    expect(h.supplier.requests.length).toBe(before);
  });
});
