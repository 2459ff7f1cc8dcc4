import jwt from 'jsonwebtoken';
import { generateCatalog, SlotCalendar, startStack, STACK_JWT_SECRET, waitFor, type ServiceProcess, type TestStack } from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';
/** The issue's supplier answers `Retry-After: 30` for a minute; scaled down 15× here (the assertions' shape is the same). */
const RETRY_AFTER_S = 2;
const THROTTLE_FOR_MS = 5_000;

interface Run {
  run_id: string;
  status: string;
  attempts: number;
  error_code: string | null;
  throttled_ms: number;
}

/**
 * A supplier that answers 429 with `Retry-After` to every call for a while, through the real
 * gateway and worker: the pull neither fails nor spends an attempt, the worker gives its slot back
 * while it waits (the job is delayed), and every call after a throttled answer starts no earlier
 * than the time that answer stated. How close after it the calls resume is a figure for the log
 * (printed below), not an assertion: this machine's speed is not under test.
 */
describe('a throttling supplier', () => {
  let stack: TestStack;
  let worker: ServiceProcess;
  let url: string;
  let id: string;
  const owner = `Bearer ${jwt.sign({ role: 'partner' }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: 'throttle-partner', expiresIn: '1h' })}`;
  const catalog = generateCatalog({ products: 2, options: 2, units: 1, seed: 22 });
  const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

  async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; data: T }> {
    const headers: Record<string, string> = { authorization: owner, prefer: 'respond-async', ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    const res = await fetch(`${url}${BASE}/${id}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, data: ((await res.json()) as { data: T }).data };
  }

  beforeAll(async () => {
    stack = await startStack('e2e-throttle', { catalog });
    stack.supplier.setAvailability(SlotCalendar.generate({ products: catalog, start: day(2), days: 1, times: ['09:00'], offset: '+00:00' }));
    // A wait past 500 ms gives the worker slot back, so the 2 s waits go through the delayed queue.
    const [gateway, started] = await Promise.all([stack.start('gateway'), stack.start('worker', { THROTTLE_INLINE_WAIT_MS: '500', LOG_LEVEL: 'info' })]);
    worker = started;
    url = await stack.gatewayUrl(gateway);
    const created = await stack.db.integrations.create({ partnerId: 'throttle-partner', baseUrl: stack.supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true,
      // One call in flight: each call is asked after the previous answer was seen, so "the next call" is well defined.
      supplierBudget: { concurrency: 1 },
    });
    id = created.integration.id;
    const trigger = await fetch(`${url}${BASE}/${id}/sync/trigger`, { method: 'POST', headers: { 'x-webhook-secret': created.webhookSecret } });
    expect(await trigger.json()).toMatchObject({ success: 1, data: { synced: 2 } });
  });
  afterAll(() => stack.close());

  it('waits out Retry-After without failing the run or spending an attempt, and resumes no earlier than stated', async () => {
    const seen = stack.supplier.requests.length;
    stack.supplier.behave({ kind: 'status', status: 429, headers: { 'retry-after': String(RETRY_AFTER_S) }, body: '{"error":"TOO_MANY_REQUESTS"}' });
    // The supplier's own clock: it throttles every call for a while, then serves again.
    const recover = setTimeout(() => stack.supplier.behave(null), THROTTLE_FOR_MS);
    try {
      const askedAt = Date.now();
      const asked = await call<{ run_id: string }>('POST', '/availability/refresh', {});
      expect(asked.status).toBe(202);
      const run = await waitFor('the throttled pull to finish', async () => {
        const log = await call<{ runs: Run[] }>('GET', '/sync-log?limit=10');
        const found = log.data.runs.find((r) => r.run_id === asked.data.run_id);
        return found?.status === 'succeeded' || found?.status === 'failed' ? found : undefined;
      }, { timeoutMs: 150_000, intervalMs: 200 }).catch((error: unknown) => {
        process.stdout.write(JSON.stringify(worker.lines.filter((l) => Number(l.level) >= 30).slice(-30)) + '\n' + JSON.stringify(stack.supplier.requests.slice(seen).map((r) => [r.path, r.at, r.status])) + '\n');
        throw error;
      });

      expect(run).toMatchObject({ status: 'succeeded', attempts: 1, error_code: null });
      expect(run.throttled_ms).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000);
      // The worker slot was given back while the supplier asked us to wait.
      await worker.waitForLog((line) => line.msg === 'supplier throttled: run delayed until its resume time' && line.runId === run.run_id);

      const calls = stack.supplier.requests.slice(seen).filter((r) => r.path === '/availability');
      const throttled = calls.filter((r) => r.status === 429);
      expect(calls[calls.length - 1]!.status).toBe(200);
      expect(throttled.length).toBeGreaterThan(0);
      const lateness: number[] = [];
      for (const answer of throttled) {
        // One call in flight (concurrency 1), so the next one was asked after this answer came back.
        const next = calls.find((r) => r.at > answer.at);
        expect(next).toBeDefined();
        // Not before the stated time: the resume time is counted from when the answer reached
        // the worker, which is after the supplier logged the request.
        expect(next!.at - answer.at).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000);
        lateness.push((next!.at - answer.at) / (RETRY_AFTER_S * 1000) - 1);
      }
      process.stdout.write(`${JSON.stringify({ figure: 'throttle resume lateness', retryAfterS: RETRY_AFTER_S, maxLateFraction: Math.max(...lateness), throttledAnswers: throttled.length, firstCallAfterMs: calls[0]!.at - askedAt, lastCallAfterMs: calls[calls.length - 1]!.at - askedAt })}\n`);
    } finally {
      clearTimeout(recover);
      stack.supplier.behave(null);
    }
  }, 180_000);
});

/**
 * A supplier whose 403 means "slow down" for it (declared in throttle_statuses) but that never
 * stops: past THROTTLE_MAX_MS the run fails for good with SUPPLIER_THROTTLED and a message the
 * partner can act on, so a 403 that really means revoked credentials is not retried forever.
 */
describe('a supplier that throttles past THROTTLE_MAX_MS', () => {
  let stack: TestStack;
  afterAll(() => stack?.close());

  it('fails the run once with SUPPLIER_THROTTLED, Retry-After given as an HTTP date', async () => {
    const catalog = generateCatalog({ products: 1, options: 1, units: 1, seed: 23 });
    stack = await startStack('e2e-throttle-max', { catalog });
    const [gateway] = await Promise.all([stack.start('gateway'), stack.start('worker', { THROTTLE_MAX_MS: '3000', THROTTLE_INLINE_WAIT_MS: '500' })]);
    const url = await stack.gatewayUrl(gateway);
    const created = await stack.db.integrations.create({
      partnerId: 'throttle-max', baseUrl: stack.supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true,
      supplierBudget: { throttleStatuses: [429, 503, 403] },
    });
    const id = created.integration.id;
    const trigger = await fetch(`${url}${BASE}/${id}/sync/trigger`, { method: 'POST', headers: { 'x-webhook-secret': created.webhookSecret } });
    expect(await trigger.json()).toMatchObject({ success: 1, data: { synced: 1 } });
    const owner = `Bearer ${jwt.sign({ role: 'partner' }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: 'throttle-max', expiresIn: '1h' })}`;
    // Within THROTTLE_MAX_MS at first (a longer one fails the run at once); then, the date past, backoffs add up.
    stack.supplier.behave({ kind: 'status', status: 403, headers: { 'retry-after': new Date(Date.now() + 2_500).toUTCString() } });
    const asked = await fetch(`${url}${BASE}/${id}/availability/refresh`, { method: 'POST', headers: { authorization: owner, prefer: 'respond-async', 'content-type': 'application/json' }, body: '{}' });
    const runId = ((await asked.json()) as { data: { run_id: string } }).data.run_id;
    const run = await waitFor('the run to fail', async () => {
      const res = await fetch(`${url}${BASE}/${id}/sync-log?limit=10`, { headers: { authorization: owner } });
      const found = ((await res.json()) as { data: { runs: Run[] } }).data.runs.find((r) => r.run_id === runId);
      return found?.status === 'failed' || found?.status === 'succeeded' ? found : undefined;
    }, { timeoutMs: 120_000, intervalMs: 200 });
    expect(run).toMatchObject({ status: 'failed', attempts: 1, error_code: 'SUPPLIER_THROTTLED' });
    expect((run as Run & { error_message: string }).error_message).toContain('throttle_statuses');
    expect((run as Run & { error_message: string }).error_message).toContain('kept throttling');
    expect(run.throttled_ms).toBeGreaterThan(3_000);
  }, 180_000);
});
