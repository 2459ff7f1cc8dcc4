import { generateCatalog, SlotCalendar, startStack, waitFor, type AvailabilityBody, type TestStack } from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';

interface Run {
  run_id: string;
  kind: string;
  trigger: string;
  status: string;
}

/**
 * Change hints (notify without slot data) through the real processes: the gateway turns them
 * into pull runs, coalesced per integration, and the worker asks the test supplier for exactly
 * the hinted options and dates, after the hints arrived.
 */
describe('change hints end to end', () => {
  let stack: TestStack;
  let url: string;
  let id: string;
  let secret: string;
  const catalog = generateCatalog({ products: 3, options: 2, units: 1, seed: 22 });
  const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
  const calendar = SlotCalendar.generate({ products: catalog, start: day(2), days: 5, times: ['09:00'], offset: '+00:00' });
  const [p0, p1, p2] = catalog.map((p) => p.id) as [string, string, string];
  const o = (product: number, option: number) => catalog[product]!.options[option]!.id;
  /** Every `POST /availability` body the supplier answered, in answer order. */
  const asked: AvailabilityBody[] = [];

  async function notify(body: unknown): Promise<{ status: number; body: { data?: { queued: boolean; run_id: string }; reason?: string; error?: string[] } }> {
    const res = await fetch(`${url}${BASE}/${id}/availability/notify`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': secret }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as never };
  }

  async function hinted(body: unknown): Promise<string> {
    const res = await notify(body);
    expect(res).toEqual({ status: 202, body: { success: 1, data: { queued: true, run_id: expect.any(String) } } });
    return res.body.data!.run_id;
  }

  const runs = async (): Promise<Run[]> => (await stack.db.runs.listRuns(id, 100)).map((r) => ({ run_id: r.id, kind: r.kind, trigger: r.trigger, status: r.status }));
  const finished = (runId: string) =>
    waitFor(`run ${runId} to finish`, async () => {
      const run = (await runs()).find((r) => r.run_id === runId);
      return run?.status === 'succeeded' || run?.status === 'failed' ? run : undefined;
    }, { timeoutMs: 90_000, intervalMs: 100 });
  const availabilityCalls = () => stack.supplier.requests.filter((r) => r.method === 'POST' && r.path === '/availability');
  const windowsAsked = (from: number) =>
    asked
      .slice(from)
      .map((b) => `${String(b.productId)}/${String(b.optionId)} ${String(b.localDateStart)}..${String(b.localDateEnd)}`)
      .sort();

  beforeAll(async () => {
    const answer = calendar.answer.bind(calendar);
    calendar.answer = (body) => {
      asked.push(body);
      return answer(body);
    };
    stack = await startStack('e2e-hints', { catalog });
    stack.supplier.setAvailability(calendar);
    // A coalescing delay long enough that hints sent together land in one run on a slow machine.
    const [gateway] = await Promise.all([stack.start('gateway', { HINT_COALESCE_MS: '4000', SYNC_TRIGGER_WAIT_MS: '60000' }), stack.start('worker')]);
    url = await stack.gatewayUrl(gateway);
    const created = await stack.db.integrations.create({
      partnerId: 'hint-partner', baseUrl: stack.supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true,
    });
    id = created.integration.id;
    secret = created.webhookSecret;
    const trigger = await fetch(`${url}${BASE}/${id}/sync/trigger`, { method: 'POST', headers: { 'x-webhook-secret': secret } });
    expect(await trigger.json()).toMatchObject({ success: 1, data: { synced: 3, skipped: false } });
  });
  afterAll(() => stack.close());

  it('hints sent together make one run that pulls exactly their options and dates, after they arrived', async () => {
    const callsBefore = availabilityCalls().length;
    const askedBefore = asked.length;
    const sentAt = Date.now();
    const ids = await Promise.all([
      hinted({ hint: { productId: p0, optionId: o(0, 0), localDateStart: day(2), localDateEnd: day(3) } }),
      hinted({ hints: [{ productId: p1, localDateStart: day(5), localDateEnd: day(6) }] }),
      hinted({ hint: { productId: p0, optionId: o(0, 0), localDateStart: day(4), localDateEnd: day(4) } }),
    ]);
    expect(new Set(ids).size).toBe(1);
    expect(await finished(ids[0])).toMatchObject({ kind: 'availability_pull', trigger: 'webhook', status: 'succeeded' });
    // One option of p0 over the union of its two hints; every option of p1 over its hint.
    expect(windowsAsked(askedBefore)).toEqual(
      [`${p0}/${o(0, 0)} ${day(2)}..${day(4)}`, `${p1}/${o(1, 0)} ${day(5)}..${day(6)}`, `${p1}/${o(1, 1)} ${day(5)}..${day(6)}`].sort(),
    );
    const calls = availabilityCalls().slice(callsBefore);
    expect(calls).toHaveLength(3);
    for (const call of calls) expect(call.at).toBeGreaterThanOrEqual(sentAt);
  });

  it('a hint arriving while a pull is mid-call makes a new run, whose call starts after it', async () => {
    const held = stack.supplier.holdRoute('POST', '/availability');
    const callsBefore = availabilityCalls().length;
    const hint = { hint: { productId: p2, optionId: o(2, 1), localDateStart: day(2), localDateEnd: day(2) } };
    const first = await hinted(hint);
    await stack.supplier.waitForRequests(stack.supplier.requests.length + 1, 60_000);
    expect(availabilityCalls()).toHaveLength(callsBefore + 1);
    const secondSentAt = Date.now();
    const second = await hinted(hint);
    held.release();
    expect(second).not.toBe(first);
    expect(await finished(first)).toMatchObject({ status: 'succeeded' });
    expect(await finished(second)).toMatchObject({ status: 'succeeded' });
    const calls = availabilityCalls().slice(callsBefore);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.at).toBeGreaterThanOrEqual(secondSentAt);
  });

  it('malformed hints answer 400 listing every problem, and make no run', async () => {
    const before = (await runs()).length;
    const res = await notify({
      hints: [
        { productId: '', localDateStart: '2026-13-01', localDateEnd: 'soon', extra: true },
        { productId: p0, localDateStart: day(3), localDateEnd: day(2) },
        { productId: p0, optionId: 'x'.repeat(256), localDateStart: day(0), localDateEnd: day(366) },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.reason).toBe('VALIDATION_FAILED');
    const problems = res.body.error!.join('\n');
    for (const path of ['hints.0.productId', 'hints.0.localDateStart', 'hints.0.localDateEnd', 'extra', 'hints.1.localDateEnd', 'hints.2.optionId', 'hints.2.localDateEnd']) expect(problems).toContain(path);
    for (const body of [{ hints: [] }, { hints: Array.from({ length: 101 }, () => ({ productId: p0, localDateStart: day(1), localDateEnd: day(1) })) }, { hint: { productId: p0 } }]) {
      const refused = await notify(body);
      expect({ status: refused.status, reason: refused.body.reason }).toEqual({ status: 400, reason: 'VALIDATION_FAILED' });
    }
    expect(await runs()).toHaveLength(before);
  });
});
