import { writeFileSync } from 'node:fs';
import jwt from 'jsonwebtoken';
import { cloneCatalog, generateCatalog, startStack, STACK_JWT_SECRET, waitFor, type TestStack } from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';
const token = (role: 'admin' | 'partner', sub: string) => `Bearer ${jwt.sign({ role }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: sub, expiresIn: '1h' })}`;
const ADMIN = token('admin', 'ops-drift');
const PARTNER = token('partner', 'drift-partner');

interface Run {
  run_id: string;
  status: string;
  error_code: string | null;
  error_message: string | null;
}

/**
 * Drift watch through the real gateway and worker processes and the test supplier: an admin sets
 * `drift_policy`, the supplier changes its catalog's shape, and the partner sees the drift in its
 * audit trail, its alerts, the change feed and `GET /{id}/drift`; an admin accepts the held shape.
 * `DRIFT_E2E_OUT=<file>` writes the answers shown in docs/partner-api.md.
 */
describe('supplier drift, end to end', () => {
  let stack: TestStack;
  let url: string;
  const catalog = generateCatalog({ products: 3, options: 1, units: 1, seed: 31 });
  const shown: Record<string, unknown> = {};

  async function call<T>(auth: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: { data: T; reason?: string; error?: string[] } }> {
    const headers: Record<string, string> = { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    const res = await fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as { data: T } };
  }

  const finished = (id: string, runId: string) =>
    waitFor(`run ${runId} to finish`, async () => {
      const log = await call<{ runs: Run[] }>(ADMIN, 'GET', `${BASE}/${id}/sync-log?limit=20`);
      const run = log.body.data.runs.find((r) => r.run_id === runId);
      return run && ['succeeded', 'skipped', 'failed'].includes(run.status) ? run : undefined;
    }, { timeoutMs: 60_000, intervalMs: 100 });

  async function sync(id: string): Promise<Run> {
    const asked = await fetch(`${url}${BASE}/admin/${id}/sync`, { method: 'POST', headers: { authorization: ADMIN, prefer: 'respond-async' } });
    const { data } = (await asked.json()) as { data: { run_id: string } };
    return finished(id, data.run_id);
  }

  beforeAll(async () => {
    stack = await startStack('e2e-drift', { catalog });
    stack.supplier.setCapabilities('octo/content, octo/pricing');
    const [gateway] = await Promise.all([stack.start('gateway', { ALLOW_INSECURE_OCTO_URLS: 'true' }), stack.start('worker')]);
    url = await stack.gatewayUrl(gateway);
  });
  afterAll(async () => {
    if (process.env.DRIFT_E2E_OUT) writeFileSync(process.env.DRIFT_E2E_OUT, JSON.stringify(shown, null, 2));
    await stack.close();
  });

  it('quarantine, then block: reported once each in events, alerts and feed; an admin accepts', async () => {
    const created = await call<{ _id: string; drift_policy: string }>(ADMIN, 'POST', `${BASE}/admin/create`, {
      partner_id: 'drift-partner',
      base_url: stack.supplier.url,
      auth_type: 'bearer',
      auth_key: 'k',
      handles_ticket_delivery: false,
      alerts_url: `${stack.supplier.url}/alerts`,
      drift_policy: 'quarantine',
    });
    expect(created.status).toBe(201);
    expect(created.body.data.drift_policy).toBe('quarantine');
    const id = created.body.data._id;
    // The first sync (queued by the approved create) records the baseline: no drift.
    await waitFor('the first sync', async () => ((await call<{ runs: Run[] }>(ADMIN, 'GET', `${BASE}/${id}/sync-log`)).body.data.runs.some((r) => r.status === 'succeeded') ? true : undefined), { timeoutMs: 60_000 });
    expect((await call(PARTNER, 'GET', `${BASE}/${id}/drift`)).body.data).toEqual({ drift_policy: 'quarantine', pending: null });

    // A partner cannot change the policy (an admin's call: it guards what the marketplace gets).
    const refused = await call(PARTNER, 'PATCH', `${BASE}/me`, { drift_policy: 'accept' });
    expect(refused.status).toBe(400);

    const drifted = cloneCatalog(catalog);
    drifted[0]!.meetingPoint = { address: 'Pier 4', lat: 38.7 };
    stack.supplier.setCatalog(drifted);
    const held = await sync(id);
    expect(held.status).toBe('succeeded');
    const drift = await call<{ pending: { drift: { added: unknown[] } } }>(PARTNER, 'GET', `${BASE}/${id}/drift`);
    expect(drift.body.data.pending.drift.added).toEqual([
      { path: 'product.meetingPoint', types: ['object'] },
      { path: 'product.meetingPoint.address', types: ['string'] },
      { path: 'product.meetingPoint.lat', types: ['number'] },
    ]);
    shown.drift = drift.body.data;
    const product = await call<{ raw: Record<string, unknown> }>(PARTNER, 'GET', `${BASE}/${id}/products/${catalog[0]!.id}`);
    expect(product.body.data.raw?.meetingPoint).toBeUndefined();

    const events = await call<Array<{ type: string; details: unknown }>>(PARTNER, 'GET', `${BASE}/${id}/events`);
    const driftEvent = events.body.data.find((e) => e.type === 'supplier_drift');
    expect(driftEvent?.details).toMatchObject({ run_id: held.run_id, held: true });
    shown.event = driftEvent;
    const alerts = await waitFor('the drift alert', async () => {
      const page = await call<Array<{ type: string; data: Record<string, unknown> }>>(PARTNER, 'GET', `${BASE}/${id}/alerts`);
      return page.body.data.find((a) => a.type === 'supplier.drift');
    }, { timeoutMs: 30_000 });
    expect(alerts.data).toMatchObject({ drift_policy: 'quarantine', added: 'product.meetingPoint, product.meetingPoint.address, product.meetingPoint.lat', held_products: 1 });
    shown.alert = alerts.data;
    const feed = await waitFor('the feed event', async () => {
      const page = await call<{ events: Array<{ type: string }> }>(ADMIN, 'GET', '/api/v1/changes?limit=1000');
      return page.body.data.events.find((e) => e.type === 'supplier.drift');
    }, { timeoutMs: 30_000 });
    shown.feed = feed;

    const accepted = await call<{ accepted: boolean; run_id: string }>(ADMIN, 'POST', `${BASE}/admin/${id}/drift/accept`);
    expect(accepted.status).toBe(200);
    shown.accepted = accepted.body.data;
    expect(await finished(id, accepted.body.data.run_id)).toMatchObject({ status: 'succeeded' });
    expect((await call<{ raw: Record<string, unknown> }>(PARTNER, 'GET', `${BASE}/${id}/products/${catalog[0]!.id}`)).body.data.raw?.meetingPoint).toEqual({ address: 'Pier 4', lat: 38.7 });
    expect((await call(ADMIN, 'POST', `${BASE}/admin/${id}/drift/accept`)).body).toMatchObject({ reason: 'NO_DRIFT_PENDING' });

    const patched = await call<{ drift_policy: string }>(ADMIN, 'PATCH', `${BASE}/admin/${id}`, { drift_policy: 'block' });
    expect(patched.body.data.drift_policy).toBe('block');
    const retyped = cloneCatalog(drifted).map((p) => ({ ...p, meetingPoint: 'Pier 4' }));
    stack.supplier.setCatalog(retyped);
    stack.supplier.setCapabilities('octo/content');
    const blocked = await sync(id);
    expect(blocked).toMatchObject({ status: 'failed', error_code: 'SUPPLIER_DRIFT' });
    expect(blocked.error_message).toContain('retyped product.meetingPoint (object → string)');
    expect(blocked.error_message).toContain('capabilities dropped octo/pricing');
    shown.blocked = blocked;
    expect((await call<{ raw: Record<string, unknown> }>(PARTNER, 'GET', `${BASE}/${id}/products/${catalog[0]!.id}`)).body.data.raw?.meetingPoint).toEqual({ address: 'Pier 4', lat: 38.7 });
  });
});
