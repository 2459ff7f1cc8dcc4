import jwt from 'jsonwebtoken';
import { compiledDir, generateCatalog, startStack, STACK_JWT_SECRET, waitFor, type ServiceProcess, type TestStack } from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';
const DASHBOARD_API = `${BASE}/admin/queues/ui/api/queues`;
/** A frame in one of our TypeScript sources, as a source-mapped trace names it: `…/packages/db/src/x.ts:12:5`. */
const TS_FRAME = /\/(packages|services)\/[\w/.-]+\.ts:\d+:\d+/;
/** Anything that looks like a stack trace, or a piece of one, in text meant for a partner. */
const STACK_LIKE = /\n\s*at |\bat .+:\d+:\d+|\.(ts|js):\d+|node_modules|node:internal/;

const token = (role: 'partner' | 'admin', sub: string) => `Bearer ${jwt.sign({ role }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: sub, expiresIn: '1h' })}`;

/** A stack trace of the compiled processes: frames of ours name the TypeScript sources, none the bundle. */
function expectMapped(trace: string): void {
  expect(trace).toMatch(TS_FRAME);
  // Before the maps, a frame of ours reads `<build>/worker.bundle.js:1234:5`.
  expect(trace).not.toContain(compiledDir());
  expect(trace).not.toMatch(/\.bundle\.js:\d+/);
}

/**
 * The gateway and the worker as built and launched in production: their stack traces (in the logs
 * and in the queue dashboard, Bull Board) name the TypeScript sources, while everything a partner
 * reads about the same failures (the sync-log, the integration's sync state, alerts, error
 * answers) carries none.
 */
describe('readable failures: mapped stack traces for operators, none for partners (compiled gateway + worker)', () => {
  let stack: TestStack;
  let gateway: ServiceProcess;
  let worker: ServiceProcess;
  let url: string;
  const admin = token('admin', 'ops-failures');

  beforeAll(async () => {
    stack = await startStack('e2e-failures', { catalog: generateCatalog({ products: 2 }) });
    gateway = await stack.start('gateway');
    worker = await stack.start('worker');
    url = await stack.gatewayUrl(gateway);
  });
  afterAll(() => stack?.close());

  /** An approved integration of `partner` (approved in the database: no first sync is queued). */
  async function integrationOf(partner: string): Promise<string> {
    const body = JSON.stringify({
      partner_id: partner,
      base_url: `${stack.supplier.url}/`,
      auth_type: 'bearer',
      auth_key: `k-${partner}`,
      handles_ticket_delivery: false,
      isApproved: false,
      alerts_url: `${stack.supplier.url}/alerts`,
    });
    const res = await fetch(`${url}${BASE}/admin/create`, { method: 'POST', headers: { Authorization: admin, 'content-type': 'application/json' }, body });
    expect(res.status).toBe(201);
    const id = ((await res.json()) as { data: { _id: string } }).data._id;
    await stack.db.integrations.setApproved(id, true);
    return id;
  }

  async function syncNow(id: string): Promise<void> {
    const res = await fetch(`${url}${BASE}/admin/${id}/sync`, { method: 'POST', headers: { Authorization: admin, Prefer: 'respond-async' } });
    expect(res.status).toBe(202);
  }

  /** The integration's catalog job as the queue dashboard shows it (Bull Board's own API), once it has a stack trace. */
  async function dashboardJob(id: string): Promise<{ stacktrace: string[]; failedReason: string }> {
    return waitFor(
      'the catalog job with a stack trace in the dashboard',
      async () => {
        const res = await fetch(`${url}${DASHBOARD_API}?activeQueue=catalog&status=latest&jobsPerPage=50`, { headers: { Authorization: admin } });
        const body = (await res.json()) as { queues: Array<{ name: string; jobs: Array<{ data: { integrationId?: string }; stacktrace?: string[]; failedReason: string }> }> };
        const jobs = body.queues.find((q) => q.name === 'catalog')?.jobs ?? [];
        const job = jobs.find((j) => j.data.integrationId === id);
        return job?.stacktrace && job.stacktrace.length > 0 ? { stacktrace: job.stacktrace, failedReason: job.failedReason } : undefined;
      },
      { timeoutMs: 60_000 },
    );
  }

  /** Every partner-visible answer about the integration, as text. */
  async function partnerViews(id: string, partner: string): Promise<Record<string, string>> {
    const views: Record<string, string> = {};
    for (const path of ['', '/sync-log', '/alerts', '/events', '/health']) {
      const res = await fetch(`${url}${BASE}/${id}${path}`, { headers: { Authorization: token('partner', partner) } });
      expect([path, res.status]).toEqual([path, 200]);
      views[path || '/'] = await res.text();
    }
    return views;
  }

  test('a supplier refusal: the failed job’s stack in the dashboard names the TypeScript source; the partner reads the reason, no stack', async () => {
    const id = await integrationOf('p-refused');
    // 401 is permanent: one attempt, a failed job on the catalog queue.
    stack.supplier.behave({ kind: 'status', status: 401 });
    try {
      await syncNow(id);
      const job = await dashboardJob(id);
      expectMapped(job.stacktrace.join('\n'));
      expect(job.failedReason).toMatch(/401/);
      const views = await waitFor('the failed run in the sync-log', async () => {
        const read = await partnerViews(id, 'p-refused');
        return read['/sync-log']!.includes('"failed"') ? read : undefined;
      });
      expect(views['/sync-log']).toMatch(/SUPPLIER_AUTH_REJECTED/);
      for (const [path, text] of Object.entries(views)) expect([path, text]).toEqual([path, expect.not.stringMatching(STACK_LIKE)]);
    } finally {
      stack.supplier.behave(null);
    }
  });

  test('a bug (a table gone): the worker’s and the gateway’s logged stacks name the TypeScript sources; the partner reads only that it failed', async () => {
    const id = await integrationOf('p-bug');
    await stack.db.pool.query('ALTER TABLE products RENAME TO products_gone');
    try {
      await syncNow(id);
      const logged = await worker.waitForLog((l) => l.msg === 'sync run failed' && l.integrationId === id && typeof (l.err as { stack?: unknown } | undefined)?.stack === 'string', 60_000);
      expectMapped((logged.err as { stack: string }).stack);
      expectMapped((await dashboardJob(id)).stacktrace.join('\n'));

      // The run fails for good after its attempts; what it says is ours, not the error's.
      const views = await waitFor('the run failed for good, with its alert', async () => {
        const read = await partnerViews(id, 'p-bug');
        return read['/sync-log']!.includes('"failed"') && read['/alerts']!.includes('sync.failed') ? read : undefined;
      }, { timeoutMs: 60_000 });
      expect(views['/sync-log']).toContain('internal error while syncing');
      for (const [path, text] of Object.entries(views)) expect([path, text]).toEqual([path, expect.not.stringMatching(STACK_LIKE)]);

      const read = await fetch(`${url}${BASE}/${id}/products`, { headers: { Authorization: token('partner', 'p-bug') } });
      const answer = await read.text();
      expect([read.status, answer]).toEqual([500, expect.not.stringMatching(STACK_LIKE)]);
      const requestId = read.headers.get('x-request-id');
      const unhandled = await gateway.waitForLog((l) => l.msg === 'unhandled error' && l.reqId === requestId);
      expectMapped((unhandled.err as { stack: string }).stack);
    } finally {
      await stack.db.pool.query('ALTER TABLE products_gone RENAME TO products');
    }
  });
});
