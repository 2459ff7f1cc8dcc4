import { Client } from 'pg';
import type { Response } from 'supertest';
import { waitFor } from '@octo-sync/testkit';
import { BASE, createBody, useGateway } from './harness';

const { h, check, partner, admin } = useGateway();

const DEFAULT_BUDGET = { requests_per_second: 5, concurrency: 4, throttle_statuses: [429, 503] };

async function create(partnerId: string, budget?: unknown): Promise<Response> {
  return h.http().post(BASE).set(partner(partnerId)).send(createBody(budget === undefined ? {} : { supplier_budget: budget }));
}

describe('supplier_budget', () => {
  test('a new integration shows the default budget; a partner may create with a lower one, not a higher one', async () => {
    const plain = await create('p-budget-default');
    expect(plain.status).toBe(201);
    check('post', BASE, 201, plain.body);
    expect(plain.body.data.supplier_budget).toEqual(DEFAULT_BUDGET);
    const lower = await create('p-budget-lower', { requests_per_second: 0.5, throttle_statuses: [429, 503, 403] });
    expect(lower.body.data.supplier_budget).toEqual({ requests_per_second: 0.5, concurrency: 4, throttle_statuses: [429, 503, 403] });
    const higher = await create('p-budget-higher', { requests_per_second: 50 });
    expect(higher.status).toBe(403);
    expect(higher.body.reason).toBe('BUDGET_RAISE_FORBIDDEN');
  });

  test('PATCH /me lowers; a raise is refused with every raise named, and PATCH /admin/{id} raises', async () => {
    const id = (await create('p-budget-patch')).body.data._id as string;
    const lowered = await h.http().patch(`${BASE}/me`).set(partner('p-budget-patch')).send({ supplier_budget: { requests_per_second: 2, concurrency: 2, throttle_statuses: [429, 503, 403] } });
    expect(lowered.status).toBe(200);
    check('patch', `${BASE}/me`, 200, lowered.body);
    expect(lowered.body.data.supplier_budget).toEqual({ requests_per_second: 2, concurrency: 2, throttle_statuses: [429, 503, 403] });

    const raised = await h.http().patch(`${BASE}/me`).set(partner('p-budget-patch')).send({ supplier_budget: { requests_per_second: 3, concurrency: 3, throttle_statuses: [429] } });
    expect(raised.status).toBe(403);
    expect(raised.body.reason).toBe('BUDGET_RAISE_FORBIDDEN');
    expect(raised.body.error).toEqual([
      'supplier_budget.requests_per_second: 3 is above the current 2',
      'supplier_budget.concurrency: 3 is above the current 2',
      'supplier_budget.throttle_statuses: would stop treating 503, 403 as throttling',
      'a partner may only lower its supplier budget; ask an admin (PATCH /admin/{id}) to raise it',
    ]);
    expect((await h.db.integrations.findLive(id))?.supplierRequestsPerSecond).toBe(2);

    const byAdmin = await h.http().patch(`${BASE}/admin/${id}`).set(admin()).send({ supplier_budget: { requests_per_second: 200, concurrency: 16, throttle_statuses: [429] } });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.data.supplier_budget).toEqual({ requests_per_second: 200, concurrency: 16, throttle_statuses: [429] });
  });

  test('two concurrent partner lowerings cannot end in a raise: each is checked against the row it locked', async () => {
    const id = (await create('p-budget-race')).body.data._id as string;
    const lower = (rate: number) => h.http().patch(`${BASE}/me`).set(partner('p-budget-race')).send({ supplier_budget: { requests_per_second: rate } }).then((res) => res);
    // Another session holds the row: both updates queue behind it, in the order they were sent.
    // A third one watches them (pg_stat_activity reads one snapshot per transaction: not the holder's).
    const [holder, watcher] = [new Client({ connectionString: h.database.url }), new Client({ connectionString: h.database.url })];
    await Promise.all([holder.connect(), watcher.connect()]);
    const waiting = (n: number) => async () => {
      const { rows } = await watcher.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
      return rows.length >= n || undefined;
    };
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM integrations WHERE id = $1::uuid FOR UPDATE', [id]);
      const toThree = lower(3);
      await waitFor('the first update to wait for the row', waiting(1), { timeoutMs: 30_000 });
      const toFour = lower(4);
      await waitFor('the second update to wait for the row', waiting(2), { timeoutMs: 30_000 });
      await holder.query('COMMIT');
      expect((await toThree).status).toBe(200);
      const raised = await toFour;
      expect(raised.status).toBe(403);
      expect(raised.body.error).toContain('supplier_budget.requests_per_second: 4 is above the current 3');
    } finally {
      await Promise.all([holder.end(), watcher.end()]);
    }
    expect((await h.db.integrations.findLive(id))?.supplierRequestsPerSecond).toBe(3);
  });

  test('hostile values answer 400 naming every problem', async () => {
    await create('p-budget-hostile');
    const res = await h.http().patch(`${BASE}/me`).set(partner('p-budget-hostile')).send({ supplier_budget: { requests_per_second: 0, concurrency: 1.5, throttle_statuses: [429, 429, 200], extra: true } });
    expect(res.status).toBe(400);
    const problems = (res.body.error as string[]).join('\n');
    for (const field of ['requests_per_second', 'concurrency', 'throttle_statuses', 'extra']) expect(problems).toContain(field);
  });
});
