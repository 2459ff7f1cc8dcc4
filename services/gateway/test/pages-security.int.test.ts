import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Response } from 'supertest';
import { areaSessions, SESSIONS_PER_SUB } from '../src/pages/session-store';
import { BASE, createBody, startGateway, type GatewayHarness } from './harness';

/**
 * The security review of the pages (issue 25): the queue dashboard rides on the console's
 * server-side session, sign-out ends both, tossed or stale cookies are no session, sign-ins are
 * bounded, and a session dies with the JWT settings it was opened under.
 */
let h: GatewayHarness;
let pagesDir: string;
const SAME = { 'Sec-Fetch-Site': 'same-origin' };
const UI = `${BASE}/admin/queues/ui`;

beforeAll(async () => {
  pagesDir = await mkdtemp(join(tmpdir(), 'pages-security-'));
  await writeFile(join(pagesDir, 'portal.js'), `console.log(${JSON.stringify('portal '.repeat(100))});\n`);
  await writeFile(join(pagesDir, 'portal.js.map'), '{"version":3,"sources":["../web/portal/main.tsx"]}\n');
  h = await startGateway({ PAGE_SESSION_IDLE_S: '600', PAGES_DIR: pagesDir });
});
afterAll(async () => {
  await h?.close();
  if (pagesDir) await rm(pagesDir, { recursive: true, force: true });
});

const cookiesOf = (res: Response) => ([] as string[]).concat(res.headers['set-cookie'] ?? []);
const statusAndReason = (res: Response) => [res.status, (res.body as { reason?: string }).reason];

async function signIn(area: 'portal' | 'console', sub: string): Promise<{ res: Response; cookie: string; csrf: string }> {
  const res = await h.http().post(`/${area}/session`).set(SAME).send({ token: h.token(area === 'portal' ? 'partner' : 'admin', sub) });
  expect(res.status).toBe(200);
  return { res, cookie: cookiesOf(res)[0]!.split(';')[0]!, csrf: res.body.csrfToken as string };
}

describe('the queue dashboard rides on the console session', () => {
  test('console sign-in sets the dashboard cookie to the session id (never the JWT); sign-out clears it and ends Bull Board access', async () => {
    const { res, cookie, csrf } = await signIn('console', 'ops-board');
    const id = cookie.split('=')[1]!;
    expect(cookiesOf(res)[1]).toBe(`octo_sync_dashboard=${id}; Path=${UI}; HttpOnly; SameSite=Strict`);
    const board = `octo_sync_dashboard=${id}`;
    expect((await h.http().get(`${UI}/api/queues`).set('Cookie', board)).status).toBe(200);
    const out = await h.http().delete('/console/session').set(SAME).set('Cookie', cookie).set('X-CSRF-Token', csrf);
    expect(out.status).toBe(204);
    expect(cookiesOf(out)).toEqual([
      'octo_console=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict',
      `octo_sync_dashboard=; Path=${UI}; Max-Age=0; HttpOnly; SameSite=Strict`,
    ]);
    expect(statusAndReason(await h.http().get(`${UI}/api/queues`).set('Cookie', board))).toEqual([401, 'UNAUTHENTICATED']);
  });

  test('POST /admin/session (bearer) sets a session id, not the JWT, and is not served below the pages’ /api', async () => {
    const token = h.token('admin', 'ops-bearer');
    const res = await h.http().post(`${BASE}/admin/session`).set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    const [cookie] = cookiesOf(res);
    expect(cookie).toMatch(/^octo_sync_dashboard=[A-Za-z0-9_-]{43}; /);
    expect(cookie).not.toContain(token.split('.')[1]!);
    const { cookie: session, csrf } = await signIn('console', 'ops-bearer');
    const viaPages = await h.http().post(`/console/api${BASE}/admin/session`).set(SAME).set('Cookie', session).set('X-CSRF-Token', csrf);
    expect(statusAndReason(viaPages)).toEqual([404, 'NOT_FOUND']);
  });
});

describe('cookies', () => {
  test('DELETE /{area}/session with an ended session answers 401 and still clears the cookie', async () => {
    const res = await h.http().delete('/portal/session').set(SAME).set('Cookie', 'octo_portal=ended-long-ago');
    expect(res.status).toBe(401);
    expect(cookiesOf(res)).toEqual(['octo_portal=; Path=/portal; Max-Age=0; HttpOnly; SameSite=Strict']);
  });

  test('a cookie name sent twice is no session (cookie tossing)', async () => {
    const { cookie } = await signIn('portal', 'p-tossed');
    expect((await h.http().get('/portal/session').set('Cookie', cookie)).status).toBe(200);
    expect(statusAndReason(await h.http().get('/portal/session').set('Cookie', `${cookie}; octo_portal=tossed`))).toEqual([401, 'UNAUTHENTICATED']);
    expect(statusAndReason(await h.http().get('/portal/session').set('Cookie', `octo_portal=tossed; ${cookie}`))).toEqual([401, 'UNAUTHENTICATED']);
  });

  test('the cookie is Secure over plain http to any host but a loopback one', async () => {
    const res = await h.http().post('/portal/session').set('Host', 'portal.example').set('Origin', 'http://portal.example').send({ token: h.token('partner', 'p-host') });
    expect(res.status).toBe(200);
    expect(cookiesOf(res)[0]).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
    const local = await h.http().post('/portal/session').set('Host', 'localhost:3000').set('Origin', 'http://localhost:3000').send({ token: h.token('partner', 'p-host') });
    expect(cookiesOf(local)[0]).toMatch(/; HttpOnly; SameSite=Strict$/);
  });
});

describe('bounded sessions', () => {
  test('sign-ins per sub are rate limited (429 with Retry-After)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i += 1) {
      const res = await h.http().post('/portal/session').set(SAME).send({ token: h.token('partner', 'p-flood') });
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    expect(statuses).toEqual([...Array<number>(10).fill(200), 429]);
  });

  test(`a sub keeps at most ${SESSIONS_PER_SUB} sessions: opening another ends the oldest`, async () => {
    const sessions = areaSessions(h.redis, h.config, 'portal');
    const token = h.token('partner', 'p-many');
    const opened = [];
    for (let i = 0; i <= SESSIONS_PER_SUB; i += 1) opened.push((await sessions.open({ sub: 'p-many', role: 'partner' }, token)).id);
    expect(await sessions.read(opened[0])).toBeUndefined();
    expect(await sessions.read(opened[1])).toBeDefined();
    expect(await sessions.read(opened.at(-1))).toBeDefined();
    await sessions.revokeAll('p-many');
    expect(await Promise.all(opened.map((id) => sessions.read(id)))).toEqual(opened.map(() => undefined));
  });

  test('sessions opened in the same millisecond still end oldest first', async () => {
    const sessions = areaSessions(h.redis, h.config, 'portal');
    const token = h.token('partner', 'p-same-ms');
    const now = jest.spyOn(Date, 'now').mockReturnValue(Date.now());
    try {
      const opened = [];
      for (let i = 0; i < SESSIONS_PER_SUB + 2; i += 1) opened.push((await sessions.open({ sub: 'p-same-ms', role: 'partner' }, token)).id);
      const live = await Promise.all(opened.map(async (id) => (await sessions.read(id)) !== undefined));
      expect(live).toEqual([false, false, ...Array<boolean>(SESSIONS_PER_SUB).fill(true)]);
    } finally {
      now.mockRestore();
      await sessions.revokeAll('p-same-ms');
    }
  });

  test('DELETE /me ends every portal session of the partner', async () => {
    const created = await h.http().post(BASE).set('Authorization', `Bearer ${h.token('partner', 'p-leaving')}`).send(createBody());
    expect(created.status).toBe(201);
    const [one, two] = [await signIn('portal', 'p-leaving'), await signIn('portal', 'p-leaving')];
    const other = await signIn('portal', 'p-staying');
    const deleted = await h.http().delete(`/portal/api${BASE}/me`).set(SAME).set('Cookie', one.cookie).set('X-CSRF-Token', one.csrf);
    expect(deleted.status).toBe(200);
    for (const { cookie } of [one, two]) expect(statusAndReason(await h.http().get('/portal/session').set('Cookie', cookie))).toEqual([401, 'UNAUTHENTICATED']);
    expect((await h.http().get('/portal/session').set('Cookie', other.cookie)).status).toBe(200);
  });

  test('a session opened under other JWT settings (a rotated key) is refused', async () => {
    const { cookie } = await signIn('portal', 'p-rotated');
    const hash = createHash('sha256').update(cookie.split('=')[1]!).digest('hex');
    const [key] = await h.redis.keys(`*gateway:session:portal:{${hash}}`);
    const stored = JSON.parse((await h.redis.get(key!))!) as Record<string, unknown>;
    await h.redis.set(key!, JSON.stringify({ ...stored, verifier: 'an-older-key' }), 'EX', 600);
    expect(statusAndReason(await h.http().get('/portal/session').set('Cookie', cookie))).toEqual([401, 'UNAUTHENTICATED']);
  });
});

describe('tampered keyset cursors answer 400, never 500', () => {
  const cursor = (key: unknown[]) => Buffer.from(JSON.stringify(key)).toString('base64url');
  const admin = () => `Bearer ${h.token('admin', 'ops-cursor')}`;

  test.each([
    ['an int past 2^31-1', ['health_status', '99999999999', '2026-01-01T00:00:00.000Z', '00000000-0000-0000-0000-000000000000']],
    ['30 February', ['health_status', '1', '2026-02-30T00:00:00.000Z', '00000000-0000-0000-0000-000000000000']],
    ['year 0', ['health_status', '1', '0000-01-01T00:00:00.000Z', '00000000-0000-0000-0000-000000000000']],
  ])('GET /admin with %s', async (_what, key) => {
    const res = await h.http().get(`${BASE}/admin`).query({ sort: 'health_status', after: cursor(key) }).set('Authorization', admin());
    expect(statusAndReason(res)).toEqual([400, 'VALIDATION_FAILED']);
  });

  test.each([
    ['a bigint past 2^63-1', ['2026-01-01T00:00:00.000Z', '9999999999999999999']],
    ['30 February', ['2026-02-30T00:00:00.000Z', '1']],
    ['year 0', ['0000-01-01T00:00:00.000Z', '1']],
  ])('GET /{id}/events with %s', async (_what, key) => {
    const created = await h.http().post(`${BASE}/admin/create`).set('Authorization', admin()).send({ partner_id: `p-cursor-${key[1]}-${key[0]!.slice(0, 4)}`, ...createBody() });
    const res = await h.http().get(`${BASE}/${created.body.data._id as string}/events`).query({ after: cursor(key) }).set('Authorization', admin());
    expect(statusAndReason(res)).toEqual([400, 'VALIDATION_FAILED']);
  });
});

describe('assets', () => {
  test('source maps are not served (they stay on disk for operators)', async () => {
    expect(statusAndReason(await h.http().get('/portal/assets/portal.js.map'))).toEqual([404, 'NOT_FOUND']);
  });

  test('each encoding has its own ETag, and If-None-Match compares weakly', async () => {
    const get = (encoding: string) => h.http().get('/portal/assets/portal.js').set('Accept-Encoding', encoding);
    const [br, gzip, identity] = await Promise.all([get('br'), get('gzip'), get('identity')]);
    const tags = [br, gzip, identity].map((res) => res.headers.etag as string);
    expect(new Set(tags).size).toBe(3);
    expect(tags[0]).toBe(`${tags[2]!.slice(0, -1)}-br"`);
    expect((await get('gzip').set('If-None-Match', tags[0]!)).status).toBe(200);
    expect((await get('br').set('If-None-Match', `W/${tags[0]!}`)).status).toBe(304);
    expect((await get('identity').set('If-None-Match', `"other", ${tags[2]!}`)).status).toBe(304);
  });
});
