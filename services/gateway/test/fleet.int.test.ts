import type { Response } from 'supertest';
import { BASE, useGateway } from './harness';

/**
 * `GET /admin`, the console's fleet list: filters by approval, health, freshness and failure,
 * sorts worst first, pages by key within one sort, and shows each integration's last catalog run
 * with its failure reason, its freshness, and the fleet's queue backlog.
 */
const { h, check, admin } = useGateway();
const ids: Record<string, string> = {};
const LIST = `${BASE}/admin`;

interface Row {
  _id: string;
  partner_id: string;
  isApproved: boolean;
  health: { status: string };
  sync: { status: string };
  freshness: { last_pull_at: string | null; stale: boolean; tiers: unknown[] };
  last_run: { status: string; error_message: string | null } | null;
}

const sql = (text: string, values: unknown[] = []) => h.db.pool.query(text, values);

async function integration(name: string, { approved = true, health = 'HEALTHY', failing = false, pulledMinutesAgo, createdMinutesAgo = 0 }: {
  approved?: boolean;
  health?: string;
  failing?: boolean;
  pulledMinutesAgo?: number;
  createdMinutesAgo?: number;
}): Promise<void> {
  const { integration: it } = await h.db.integrations.create({
    partnerId: name,
    baseUrl: 'https://octo.example.com/',
    authType: 'bearer',
    authKey: 'k',
    handlesTicketDelivery: false,
    isApproved: approved,
    // One tier pulled hourly: stale once its last pull is older than 120 minutes.
    availabilityPull: { intervalMinutes: 60 },
  });
  ids[name] = it.id;
  await sql(`UPDATE integrations SET health_status = $2::"HealthStatus", sync_status = $3::"SyncStatus", created_at = now() - make_interval(mins => $4) WHERE id = $1::uuid`, [
    it.id,
    health,
    failing ? 'error' : 'idle',
    createdMinutesAgo,
  ]);
  const status = failing ? 'failed' : 'succeeded';
  await sql(
    `INSERT INTO sync_runs (integration_id, trigger, kind, status, queued_at, finished_at, error_code, error_message)
     VALUES ($1::uuid, 'admin', 'catalog', $2::"RunStatus", now() - interval '2 minutes', now() - interval '1 minute', $3, $4)`,
    [it.id, status, failing ? 'SUPPLIER_HTTP_ERROR' : null, failing ? 'GET /products answered 500' : null],
  );
  if (pulledMinutesAgo !== undefined) {
    await sql(
      `INSERT INTO sync_runs (integration_id, trigger, kind, status, queued_at, finished_at) VALUES ($1::uuid, 'schedule', 'availability_pull', 'succeeded', now() - make_interval(mins => $2 + 1), now() - make_interval(mins => $2))`,
      [it.id, pulledMinutesAgo],
    );
  }
}

async function list(query: string): Promise<{ res: Response; rows: Row[] }> {
  const res = await h.http().get(`${LIST}?${query}`).set(admin());
  if (res.status === 200) check('get', LIST, 200, res.body);
  return { res, rows: res.body.data as Row[] };
}

const names = (rows: Row[]) => rows.map((r) => r.partner_id);

beforeAll(async () => {
  // One tier, pulled every 60 minutes: stale once the last pull is older than 120 minutes.
  await integration('fresh', { pulledMinutesAgo: 10, createdMinutesAgo: 600 });
  await integration('late', { pulledMinutesAgo: 200, createdMinutesAgo: 590, health: 'DEGRADED' });
  await integration('never-pulled', { createdMinutesAgo: 580, health: 'DOWN', failing: true });
  await integration('new', { createdMinutesAgo: 5 });
  await integration('pending', { approved: false, createdMinutesAgo: 570 });
  await integration('down-fresh', { pulledMinutesAgo: 1, createdMinutesAgo: 560, health: 'DOWN' });
});

describe('GET /admin: the fleet', () => {
  test('each row: approval, health, freshness, the last catalog run with its failure reason; the fleet backlog beside', async () => {
    const { res, rows } = await list('pageSize=100');
    expect(res.status).toBe(200);
    expect(names(rows)).toEqual(['new', 'down-fresh', 'pending', 'never-pulled', 'late', 'fresh']);
    const byName = Object.fromEntries(rows.map((r) => [r.partner_id, r]));
    expect(byName['never-pulled']).toMatchObject({
      isApproved: true,
      health: { status: 'DOWN' },
      sync: { status: 'error' },
      freshness: { last_pull_at: null, stale: true },
      last_run: { status: 'failed', error_message: 'GET /products answered 500' },
    });
    // Per tier: no active option to confirm, so no age (the figures themselves: test/e2e/freshness.e2e.test.ts).
    expect(byName.fresh!.freshness).toEqual({
      last_pull_at: expect.any(String),
      stale: false,
      tiers: [{ tier: 0, days_from: 0, days_to: 30, interval_minutes: 60, oldest_confirmed_at: null, age_s: null }],
    });
    expect(byName.late!.freshness.stale).toBe(true);
    expect(byName.pending).toMatchObject({ isApproved: false, freshness: { stale: false } });
    expect(byName.new!.freshness.stale).toBe(false);
    expect(res.body.backlog).toEqual({ waiting: expect.any(Number), active: expect.any(Number), delayed: expect.any(Number) });
  });

  test.each([
    ['health_status=DOWN', ['down-fresh', 'never-pulled']],
    ['stale=true', ['never-pulled', 'late']],
    ['stale=false', ['new', 'down-fresh', 'pending', 'fresh']],
    ['failing=true', ['never-pulled']],
    ['isApproved=false', ['pending']],
    ['health_status=DOWN&stale=false', ['down-fresh']],
  ])('filter %s', async (query, expected) => {
    const { res, rows } = await list(`${query}&pageSize=100`);
    expect([res.status, names(rows), res.body.pagination.totalCount]).toEqual([200, expected, expected.length]);
  });

  test.each([
    ['created_at', ['new', 'down-fresh', 'pending', 'never-pulled', 'late', 'fresh']],
    ['health_status', ['down-fresh', 'never-pulled', 'late', 'new', 'pending', 'fresh']],
    ['stale', ['never-pulled', 'late', 'new', 'down-fresh', 'pending', 'fresh']],
    ['failing', ['never-pulled', 'new', 'down-fresh', 'pending', 'late', 'fresh']],
  ])('sort=%s: in its order (a state worst first, then newest first); paged by key it returns the same rows once each', async (sort, expected) => {
    expect(names((await list(`sort=${sort}&pageSize=100`)).rows)).toEqual(expected);
    const walked: string[] = [];
    let after: string | null = null;
    do {
      const { res, rows } = await list(`sort=${sort}&pageSize=2${after === null ? '' : `&after=${after}`}`);
      expect(res.status).toBe(200);
      walked.push(...names(rows));
      after = res.body.pagination.next as string | null;
    } while (after !== null);
    expect(walked).toEqual(expected);
  });

  test('sort=updated_at: the last changed first', async () => {
    await sql(`UPDATE integrations SET updated_at = now() + interval '1 minute' WHERE id = $1::uuid`, [ids.fresh]);
    expect(names((await list('sort=updated_at&pageSize=1')).rows)).toEqual(['fresh']);
  });

  test('a cursor is only good for its own sort; unknown sorts and filters are refused', async () => {
    const first = await list('sort=stale&pageSize=1');
    const cursor = first.res.body.pagination.next as string;
    const other = await list(`sort=failing&after=${cursor}`);
    expect(other.res.status).toBe(400);
    expect(other.res.body.error).toEqual(['after: is a cursor of sort=stale, not of sort=failing']);
    expect((await list('sort=partner_id')).res.status).toBe(400);
    expect((await list('stale=yes')).res.status).toBe(400);
  });
});
