import { createDb, type Db } from '@octo-sync/db';
import { createRedis, SupplierBudget, type Redis } from '@octo-sync/jobs';
import type { SupplierClient } from '@octo-sync/octo';
import { clearPrefix, createTestDatabase, generateCatalog, SlotCalendar, startTestSupplier, TEST_REDIS_URL, uniquePrefix, type TestDatabase, type TestSupplier } from '@octo-sync/testkit';
import { loadWorkerConfig } from '../../src/config';
import { conformanceSettings, createTestConnectionHandler } from '../../src/connection-test/test-connection.handler';
import { createSupplierFromConfig } from '../../src/runtime';

const AUTH_KEY = 'sk_test_connection_key_42';
let database: TestDatabase;
let db: Db;
let supplier: TestSupplier;
let client: SupplierClient;
let strictClient: SupplierClient;
const prefix = uniquePrefix('test-connection');
let redis: Redis;
let handler: ReturnType<typeof createTestConnectionHandler>;
let strictHandler: ReturnType<typeof createTestConnectionHandler>;

beforeAll(async () => {
  database = await createTestDatabase();
  supplier = await startTestSupplier({ catalog: generateCatalog({ products: 3 }) });
  const base = { DATABASE_URL: database.url, SECRETS_KEY: 'test-secrets-key', ALLOW_INSECURE_OCTO_URLS: 'true', OCTO_TOTAL_TIMEOUT_MS: '1500', OCTO_HEADERS_TIMEOUT_MS: '1000' };
  db = createDb({ databaseUrl: database.url, secretsKey: 'test-secrets-key', poolSize: 2 });
  client = createSupplierFromConfig(loadWorkerConfig({ ...base, OCTO_ALLOWED_HOSTS: supplier.hostPort }));
  // Without the allowance, the local supplier is a loopback address: blocked, as for a partner.
  strictClient = createSupplierFromConfig(loadWorkerConfig(base));
  const config = loadWorkerConfig(base);
  const settings = conformanceSettings(config);
  redis = createRedis(TEST_REDIS_URL, 'worker');
  const budget = { budget: new SupplierBudget(redis, prefix, { leaseTtlMs: 60_000, slowForMs: 0, backoffBaseMs: 100, backoffMaxMs: 1_000, maxHoldMs: 60_000 }), config: config.budget, report: { throttled: () => {}, waited: () => {} } };
  handler = createTestConnectionHandler({ db, supplier: client, settings, budget });
  strictHandler = createTestConnectionHandler({ db, supplier: strictClient, settings, budget });
});
afterAll(async () => {
  await client?.close();
  await strictClient?.close();
  await supplier?.close();
  await db?.close();
  await database?.drop();
  await clearPrefix(prefix);
  redis?.disconnect();
});
afterEach(() => supplier.behave(null));

let n = 0;
async function integration(baseUrl = supplier.url, authType: 'bearer' | 'api_key' = 'bearer'): Promise<string> {
  const { integration } = await db.integrations.create({ partnerId: `p-${++n}`, baseUrl, authType, authKey: AUTH_KEY, handlesTicketDelivery: false });
  return integration.id;
}

test('success: status, latency and product count; the stored credential is sent', async () => {
  const id = await integration();
  const result = await handler({ integrationId: id });
  expect(result).toEqual({
    ok: true,
    message: 'Connection successful',
    status: 200,
    latency_ms: expect.any(Number),
    product_count: 3,
    errors: [],
    warnings: [
      'the answer has no Octo-Capabilities header (required by OCTO; tolerated)',
      'the answer has no Content-Language header although octo/content was requested (required by OCTO; tolerated)',
      '1 of 3 products send availabilityLocalStartTimes ["00:00"] (OCTO wants an empty list for OPENING_HOURS; stored as sent): "prod-00002"',
    ],
    stable: true,
    differences: [],
    availability: {
      sample: ['prod-00001/DEFAULT', 'prod-00002/DEFAULT', 'prod-00003/option-1'],
      local_date_start: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      local_date_end: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      slots: 0,
      calendar: 'not_served',
      quirks: [],
      errors: [],
    },
    unknown_product: expect.objectContaining({ known_id: 'prod-00001', known_status: 200, status: 400, error_code: 'INVALID_PRODUCT_ID', answer: 'octo' }),
    latency: {
      catalog: expect.objectContaining({ calls: 2, threshold_ms: 10_000 }),
      availability: expect.objectContaining({ calls: 3, threshold_ms: 1_000 }),
      calendar: null,
    },
  });
  expect(supplier.requests.at(-1)?.headers.authorization).toBe(`Bearer ${AUTH_KEY}`);
});

test('answer times are the supplier’s alone: a budget of one call every 2 s does not make an instant supplier look slow', async () => {
  // Every call after the first waits about 2 s for a token of this budget; the local supplier
  // answers in a few ms (a busy machine leaves a wide margin below half the interval). Counted in,
  // the wait would put the answer times near the interval.
  const intervalMs = 2_000;
  const { integration: created } = await db.integrations.create({ partnerId: `p-${++n}`, baseUrl: supplier.url, authType: 'bearer', authKey: AUTH_KEY, handlesTicketDelivery: false, supplierBudget: { requestsPerSecond: 1_000 / intervalMs } });
  const result = await handler({ integrationId: created.id });
  expect(result.latency?.availability).toMatchObject({ calls: 3 });
  expect(result.latency?.availability?.p50_ms).toBeLessThan(intervalMs / 2);
  expect(result.latency?.catalog?.p50_ms).toBeLessThan(intervalMs / 2);
});

test('the report beyond the catalog: availability quirks and an unknown product answered 404, through the same client', async () => {
  const id = await integration();
  const calendar = new SlotCalendar();
  const start = `${new Date().toISOString().slice(0, 10)}T09:00:00+00:00`;
  calendar.put('prod-00001', 'DEFAULT', { id: 's1', localDateTimeStart: start, localDateTimeEnd: start, allDay: false, status: 'FREESALE', vacancies: 5, capacity: null });
  supplier.setAvailability(calendar);
  supplier.setUnknownProductStyle('404');
  try {
    const result = await handler({ integrationId: id });
    expect(result.availability?.quirks).toEqual([
      '1 of 1 slots are FREESALE with vacancies or capacity numbers (OCTO wants null; stored as sent): "s1"',
      '1 of 1 slots have no utcCutoffAt (OCTO requires it; stored without a cut-off): "s1"',
    ]);
    expect(result.unknown_product).toMatchObject({ status: 404, error_code: null, answer: 'not_understood' });
  } finally {
    supplier.setAvailability(new SlotCalendar());
    supplier.setUnknownProductStyle('octo');
  }
});

test('asks availability in each of the integration’s currencies and says which the supplier honours', async () => {
  const { integration: created } = await db.integrations.create({ partnerId: `p-${++n}`, baseUrl: supplier.url, authType: 'bearer', authKey: AUTH_KEY, handlesTicketDelivery: false, currencies: ['EUR', 'USD'] });
  const calendar = new SlotCalendar();
  const start = `${new Date().toISOString().slice(0, 10)}T09:00:00+00:00`;
  calendar.put('prod-00001', 'DEFAULT', { id: 's1', localDateTimeStart: start, localDateTimeEnd: start, allDay: false, status: 'AVAILABLE', vacancies: 5, capacity: 10 });
  supplier.setAvailability(calendar);
  supplier.setCurrencies({ supported: ['EUR'], ignoreParameter: true });
  try {
    const result = await handler({ integrationId: created.id });
    expect(result.currencies).toEqual([
      { currency: 'EUR', currencies_seen: ['EUR'], honoured: true },
      { currency: 'USD', currencies_seen: ['EUR'], honoured: false },
    ]);
  } finally {
    supplier.setAvailability(new SlotCalendar());
    supplier.setCurrencies(null);
  }
});

test('the conformance report: a catalog that changes on every fetch is not stable, with the paths that differ', async () => {
  const id = await integration();
  supplier.setChangingCatalog((n) => generateCatalog({ products: 3 }).map((p, i) => (i === 1 ? { ...p, fetchedAt: n } : p)));
  try {
    const result = await handler({ integrationId: id });
    expect(result).toMatchObject({ ok: true, product_count: 3, stable: false, differences: ['[1].fetchedAt: 1, then 2'] });
  } finally {
    supplier.setCatalog(generateCatalog({ products: 3 }));
  }
});

test('the conformance report: a structurally broken catalog lists each error', async () => {
  const id = await integration();
  supplier.setCatalog([{ id: 'p1', options: [{ id: 1 }] }]);
  try {
    expect(await handler({ integrationId: id })).toMatchObject({ ok: false, code: 'CATALOG_INVALID', status: 200, errors: ['CATALOG_INVALID: [0].options[0].id: must be a string (got a number)'], stable: null });
  } finally {
    supplier.setCatalog(generateCatalog({ products: 3 }));
  }
});

test('supplier 401 → ok false, SUPPLIER_AUTH_REJECTED, status 401, no credential in the message', async () => {
  const id = await integration();
  supplier.behave({ kind: 'status', status: 401, body: `bad key ${AUTH_KEY}` });
  const result = await handler({ integrationId: id });
  expect(result).toMatchObject({ ok: false, code: 'SUPPLIER_AUTH_REJECTED', status: 401 });
  expect(result.message).toMatch(/auth_key/);
  expect(result.message).not.toContain(AUTH_KEY);
});

test('not JSON → CATALOG_NOT_JSON; not an array → CATALOG_INVALID', async () => {
  const id = await integration();
  supplier.behave({ kind: 'invalidJson' });
  expect(await handler({ integrationId: id })).toMatchObject({ ok: false, code: 'CATALOG_NOT_JSON', status: 200 });
  supplier.behave(null);
  supplier.setRawBody('{"products": []}');
  try {
    expect(await handler({ integrationId: id })).toMatchObject({ ok: false, code: 'CATALOG_INVALID', status: 200 });
  } finally {
    supplier.setCatalog(generateCatalog({ products: 3 }));
  }
});

test('timeout → SUPPLIER_TIMEOUT', async () => {
  const id = await integration();
  supplier.behave({ kind: 'slowHeaders', ms: 3_000 });
  expect(await handler({ integrationId: id })).toMatchObject({ ok: false, code: 'SUPPLIER_TIMEOUT' });
});

test('blocked address → SUPPLIER_ADDRESS_BLOCKED', async () => {
  const id = await integration();
  expect(await strictHandler({ integrationId: id })).toMatchObject({ ok: false, code: 'SUPPLIER_ADDRESS_BLOCKED' });
});

test('DNS failure → SUPPLIER_DNS_FAILED', async () => {
  const id = await integration('https://no-such-host.invalid');
  expect(await handler({ integrationId: id })).toMatchObject({ ok: false, code: 'SUPPLIER_DNS_FAILED' });
});

test('TLS failure (https to a plain-http port) → SUPPLIER_TLS_FAILED or a connect failure, never a throw', async () => {
  const id = await integration(supplier.url.replace('http://', 'https://'));
  const result = await handler({ integrationId: id });
  expect(result.ok).toBe(false);
  expect(['SUPPLIER_TLS_FAILED', 'SUPPLIER_CONNECT_FAILED']).toContain((result as { code: string }).code);
});

test('a deleted integration → ok false INTEGRATION_NOT_FOUND', async () => {
  const id = await integration();
  await db.integrations.softDelete(id);
  expect(await handler({ integrationId: id })).toMatchObject({ ok: false, code: 'INTEGRATION_NOT_FOUND' });
});
