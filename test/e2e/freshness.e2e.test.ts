import jwt from 'jsonwebtoken';
import { freePort, generateCatalog, SlotCalendar, startStack, STACK_JWT_SECRET, waitFor, type TestStack } from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';
const TWO_DAYS_S = 2 * 86_400;

interface TierAge {
  tier: number;
  oldest_confirmed_at: string;
  age_s: number;
}

/** The worker's `octo_sync_freshness_*` samples, keyed by name and labels as exposed. */
function freshnessSamples(text: string): Map<string, number> {
  return new Map([...text.matchAll(/^(octo_sync_freshness_\w+\{[^}]*\}) (\S+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/**
 * Freshness you can see, through the real gateway and worker: the worker's per-tier gauges, the
 * sync-log's figure on a pull run and the fleet view's per-tier ages all derive from the pull marks
 * the pull wrote, before and after one pull of the whole window (default tiers: 0..3, 4..30, 31..90).
 */
describe('freshness per pull tier end to end', () => {
  let stack: TestStack;
  let url: string;
  let metricsUrl: string;
  let id: string;
  const admin = `Bearer ${jwt.sign({ role: 'admin' }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: 'fresh-ops', expiresIn: '1h' })}`;
  const catalog = generateCatalog({ products: 2, options: 2, units: 1, seed: 22 });
  const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

  async function get<T>(path: string): Promise<T> {
    const res = await fetch(`${url}${BASE}${path}`, { headers: { authorization: admin } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { data: T }).data;
  }
  const scrape = async () => freshnessSamples(await (await fetch(metricsUrl)).text());
  const age = (s: Map<string, number>, tier: number, quantile: string) => s.get(`octo_sync_freshness_age_seconds{tier="${tier}",quantile="${quantile}"}`);

  beforeAll(async () => {
    stack = await startStack('e2e-freshness', { catalog });
    stack.supplier.setAvailability(SlotCalendar.generate({ products: catalog, start: day(1), days: 3, times: ['09:00'], offset: '+00:00' }));
    const port = await freePort();
    const [gateway] = await Promise.all([stack.start('gateway', { SYNC_TRIGGER_WAIT_MS: '60000' }), stack.start('worker', { METRICS_PORT: String(port), METRICS_SAMPLE_MS: '200', METRICS_FRESHNESS_SAMPLE_MS: '200' })]);
    url = await stack.gatewayUrl(gateway);
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    const created = await stack.db.integrations.create({
      partnerId: 'fresh-partner', baseUrl: stack.supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true,
    });
    id = created.integration.id;
    const trigger = await fetch(`${url}${BASE}/${id}/sync/trigger`, { method: 'POST', headers: { 'x-webhook-secret': created.webhookSecret } });
    expect(await trigger.json()).toMatchObject({ success: 1, data: { synced: 2, skipped: false } });
    // As if the integration and its catalog were two days old and never pulled since.
    await stack.db.pool.query(`UPDATE integrations SET created_at = now() - interval '2 days' WHERE id = $1::uuid`, [id]);
    await stack.db.pool.query(`UPDATE products SET created_at = now() - interval '2 days' WHERE integration_id = $1::uuid`, [id]);
    await stack.db.pool.query(`UPDATE product_options o SET created_at = now() - interval '2 days' FROM products p WHERE p.id = o.product_id AND p.integration_id = $1::uuid`, [id]);
  });
  afterAll(() => stack.close());

  test('never pulled: every tier counts from the creation, on the gauges and in the fleet view', async () => {
    const samples = await waitFor('the never-pulled ages on the gauges', async () => {
      const s = await scrape();
      return [0, 1, 2].every((tier) => (age(s, tier, '0.5') ?? 0) >= TWO_DAYS_S) ? s : undefined;
    });
    for (const tier of [0, 1, 2]) expect(age(samples, tier, '0.99')).toBe(age(samples, tier, '0.5'));
    const fleet = await get<Array<{ _id: string; freshness: { tiers: Array<{ age_s: number | null }> } }>>('/admin?partner_id=fresh-partner');
    expect(fleet.find((row) => row._id === id)?.freshness.tiers.map((t) => (t.age_s ?? 0) >= TWO_DAYS_S)).toEqual([true, true, true]);
  });

  test('after a pull of the whole window: the sync-log, the fleet view and the gauges show the oldest answer of the pull', async () => {
    const refresh = await fetch(`${url}${BASE}/${id}/availability/refresh`, { method: 'POST', headers: { authorization: admin, 'content-type': 'application/json', prefer: 'respond-async' }, body: '{}' });
    expect(refresh.status).toBe(202);
    const runId = ((await refresh.json()) as { data: { run_id: string } }).data.run_id;
    const run = await waitFor('the pull to succeed', async () => {
      const log = await get<{ runs: Array<{ run_id: string; status: string; finished_at: string; counts: { freshness?: TierAge[] } | null }> }>(`/${id}/sync-log?limit=10`);
      const found = log.runs.find((r) => r.run_id === runId);
      return found?.status === 'succeeded' || found?.status === 'failed' ? found : undefined;
    }, { timeoutMs: 90_000, intervalMs: 100 });
    expect(run.status).toBe('succeeded');

    // Every option's answer covers every tier: each tier is as old as the pull's oldest answer.
    const { rows } = await stack.db.pool.query<{ marks: number; oldest: string }>(
      `SELECT count(*)::int AS marks, (min(answer_key) / 1000000)::text AS oldest FROM availability_pull_marks WHERE integration_id = $1::uuid`,
      [id],
    );
    expect(rows[0]!.marks).toBe(4);
    const oldest = Number(rows[0]!.oldest);
    const near = (iso: string | null | undefined) => iso != null && Math.abs(Date.parse(iso) - oldest) <= 1;

    const finishedAt = Date.parse(run.finished_at);
    expect(run.counts?.freshness?.map((t) => ({ tier: t.tier, confirmed: near(t.oldest_confirmed_at), ageWithinRun: t.age_s >= 0 && t.age_s <= (finishedAt - oldest) / 1000 + 1 }))).toEqual(
      [0, 1, 2].map((tier) => ({ tier, confirmed: true, ageWithinRun: true })),
    );

    type FleetTier = { tier: number; days_from: number; days_to: number; interval_minutes: number; oldest_confirmed_at: string | null; age_s: number | null };
    const fleet = await get<Array<{ _id: string; freshness: { tiers: FleetTier[] } }>>('/admin?partner_id=fresh-partner');
    const answeredBound = (Date.now() - oldest) / 1000 + 1;
    expect(fleet.find((row) => row._id === id)?.freshness.tiers.map((t) => ({ ...t, oldest_confirmed_at: near(t.oldest_confirmed_at), age_s: t.age_s !== null && t.age_s >= 0 && t.age_s <= answeredBound }))).toEqual([
      { tier: 0, days_from: 0, days_to: 3, interval_minutes: 5, oldest_confirmed_at: true, age_s: true },
      { tier: 1, days_from: 4, days_to: 30, interval_minutes: 60, oldest_confirmed_at: true, age_s: true },
      { tier: 2, days_from: 31, days_to: 90, interval_minutes: 1_440, oldest_confirmed_at: true, age_s: true },
    ]);

    // A sample taken after the pull: one integration, so p50 = p99 = its age at the sample, which
    // lies between 0 and the time from the oldest answer to this scrape.
    const samples = await waitFor('a sample after the pull', async () => {
      const s = await scrape();
      return [0, 1, 2].every((tier) => (age(s, tier, '0.5') ?? TWO_DAYS_S) < TWO_DAYS_S) ? s : undefined;
    });
    const bound = (Date.now() - oldest) / 1000 + 1;
    for (const tier of [0, 1, 2]) {
      const p50 = age(samples, tier, '0.5')!;
      expect({ tier, p99: age(samples, tier, '0.99'), inBound: p50 >= 0 && p50 <= bound }).toEqual({ tier, p99: p50, inBound: true });
    }
    expect([0, 1, 2].map((tier) => samples.get(`octo_sync_freshness_tier_interval_seconds{tier="${tier}"}`))).toEqual([300, 3_600, 86_400]);
  });
});
