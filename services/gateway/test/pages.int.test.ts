import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Response } from 'supertest';
import { waitFor } from '@octo-sync/testkit';
import { BASE, createBody, startGateway, type GatewayHarness } from './harness';

/**
 * The portal and console on the server: the shell and its assets under a CSP without inline
 * code, server-side sessions behind an HttpOnly SameSite=Strict cookie, and the documented routes
 * below /{area}/api with the session for credentials, CSRF token and same-origin checks for every
 * state-changing call.
 */
let h: GatewayHarness;
let pagesDir: string;
const SAME = { 'Sec-Fetch-Site': 'same-origin' };

beforeAll(async () => {
  pagesDir = await mkdtemp(join(tmpdir(), 'pages-'));
  await Promise.all([
    writeFile(join(pagesDir, 'portal.js'), 'console.log("portal");\n'),
    writeFile(join(pagesDir, 'console.js'), 'console.log("console");\n'),
    writeFile(join(pagesDir, 'app.css'), 'body { margin: 0; }\n'),
  ]);
  h = await startGateway({ PAGES_DIR: pagesDir, PAGE_SESSION_IDLE_S: '600' });
});
afterAll(async () => {
  await h?.close();
  if (pagesDir) await rm(pagesDir, { recursive: true, force: true });
});

function expectError(res: Response, status: number, reason: string): void {
  expect({ status: res.status, body: res.body as unknown }).toEqual({
    status,
    body: { success: 0, error: expect.any(Array), message: expect.any(String), code: status, reason },
  });
}

/** Signs in and answers the cookie (`name=value`) and the CSRF token. */
async function signIn(area: 'portal' | 'console', token: string): Promise<{ cookie: string; csrf: string }> {
  const res = await h.http().post(`/${area}/session`).set(SAME).send({ token });
  expect(res.status).toBe(200);
  const cookie = (res.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
  return { cookie, csrf: res.body.csrfToken as string };
}

const sessionKey = async (area: string, cookie: string) => {
  const hash = createHash('sha256').update(cookie.split('=')[1]!).digest('hex');
  const [key] = await h.redis.keys(`*gateway:session:${area}:{${hash}}`);
  return key;
};

async function createAs(partner: string) {
  const res = await h.http().post(BASE).set('Authorization', `Bearer ${h.token('partner', partner)}`).send(createBody());
  expect(res.status).toBe(201);
  return res.body.data as { _id: string };
}

describe('the shell and its assets', () => {
  test.each([
    ['/portal', 'portal'],
    ['/portal/integration/products/42', 'portal'],
    ['/console', 'console'],
    ['/console/fleet', 'console'],
  ])('GET %s answers the %s shell under a CSP without inline script or style', async (path, area) => {
    const res = await h.http().get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('<div id="app"></div>');
    expect(res.text).toContain(`<link rel="stylesheet" href="/${area}/assets/app.css">`);
    expect(res.text).toContain(`<script type="module" src="/${area}/assets/${area}.js"></script>`);
    expect(res.text).not.toMatch(/<script>|<style|style=/);
    const csp = res.headers['content-security-policy'] as string;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("style-src 'self';");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  test.each([
    ['br', 'br'],
    ['gzip, deflate', 'gzip'],
    ['identity', 'uncompressed'],
  ])('Accept-Encoding %s: the asset is sent %s, varying by Accept-Encoding', async (accept, sentAs) => {
    const encoding = sentAs === 'uncompressed' ? undefined : sentAs;
    const source = `export const rows = [\n${'  { "title": "a product", "active": true },\n'.repeat(500)}];\n`;
    await writeFile(join(pagesDir, 'big.js'), source);
    // supertest decodes the body it receives; the length on the wire is the header's.
    const res = await h.http().get('/console/assets/big.js').set('Accept-Encoding', accept);
    expect([res.status, res.headers['content-encoding'], res.headers.vary, res.text]).toEqual([200, encoding, 'Accept-Encoding', source]);
    const sent = Number(res.headers['content-length']);
    if (encoding === undefined) expect(sent).toBe(Buffer.byteLength(source));
    else expect(sent).toBeLessThan(Buffer.byteLength(source) / 10);
  });

  test('assets come from PAGES_DIR with their types and are revalidated; unknown ones and escapes answer 404', async () => {
    const js = await h.http().get('/portal/assets/portal.js');
    expect([js.status, js.headers['content-type'], js.text]).toEqual([200, expect.stringMatching(/javascript/), 'console.log("portal");\n']);
    expect(js.headers['cache-control']).toBe('no-cache');
    expect(js.headers['content-security-policy']).toContain("script-src 'self'");
    const css = await h.http().get('/console/assets/app.css');
    expect([css.status, css.headers['content-type']]).toEqual([200, expect.stringMatching(/^text\/css/)]);
    const etag = js.headers.etag as string;
    expect((await h.http().get('/portal/assets/portal.js').set('If-None-Match', etag)).status).toBe(304);
    await writeFile(join(pagesDir, 'portal.js'), 'console.log("portal, rebuilt");\n');
    const rebuilt = await h.http().get('/portal/assets/portal.js').set('If-None-Match', etag);
    expect([rebuilt.status, rebuilt.text]).toEqual([200, 'console.log("portal, rebuilt");\n']);
    expectError(await h.http().get('/portal/assets/nope.js'), 404, 'NOT_FOUND');
    expectError(await h.http().get('/portal/assets/.hidden'), 404, 'NOT_FOUND');
    expectError(await h.http().get('/portal/assets/..%2f..%2fetc%2fpasswd'), 404, 'NOT_FOUND');
    expectError(await h.http().get('/portal/api/no-such-path'), 404, 'NOT_FOUND');
  });
});

describe('sessions', () => {
  test('POST /portal/session exchanges a partner JWT for an HttpOnly SameSite=Strict cookie scoped to /portal, holding a random id, not the JWT', async () => {
    const token = h.token('partner', 'p-session');
    const res = await h.http().post('/portal/session').set(SAME).send({ token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ partner: { sub: 'p-session', role: 'partner' }, csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(res.headers['cache-control']).toBe('no-store');
    const [cookie] = res.headers['set-cookie'] as unknown as string[];
    expect(cookie).toMatch(/^octo_portal=[A-Za-z0-9_-]{43}; Path=\/portal; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain(token.split('.')[1]!);
    const stored = await h.redis.get((await sessionKey('portal', cookie!.split(';')[0]!))!);
    expect(stored).not.toContain(token.split('.')[1]!);
  });

  test('behind https (TRUST_PROXY) the cookie is Secure', async () => {
    const proxied = await startGateway({ TRUST_PROXY: 'true', PAGES_DIR: pagesDir }, h);
    try {
      const res = await proxied.http().post('/portal/session').set(SAME).set('X-Forwarded-Proto', 'https').send({ token: h.token('partner', 'p-secure') });
      expect(res.status).toBe(200);
      expect((res.headers['set-cookie'] as unknown as string[])[0]).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
    } finally {
      await proxied.close();
    }
  });

  test('the JWT is verified as the API verifies it: expired, forged or missing answer 401 with the standard body; another role 403', async () => {
    expectError(await h.http().post('/portal/session').set(SAME).send({ token: h.token('partner', 'p-old', -60) }), 401, 'UNAUTHENTICATED');
    expectError(await h.http().post('/portal/session').set(SAME).send({ token: `${h.token('partner', 'p-forged').slice(0, -2)}xx` }), 401, 'UNAUTHENTICATED');
    expectError(await h.http().post('/portal/session').set(SAME).send({}), 400, 'VALIDATION_FAILED');
    expectError(await h.http().post('/portal/session').set(SAME).send({ token: h.token('admin', 'ops') }), 403, 'FORBIDDEN');
    expectError(await h.http().post('/console/session').set(SAME).send({ token: h.token('partner', 'p-console') }), 403, 'FORBIDDEN');
    const expired = await h.http().post('/portal/session').set(SAME).send({ token: h.token('partner', 'p-old', -60) });
    expect(expired.body.error).toEqual(['token: token has expired']);
    expect(expired.headers['set-cookie']).toBeUndefined();
    // Pasted with its line break, it still signs in.
    expect((await h.http().post('/portal/session').set(SAME).send({ token: ` ${h.token('partner', 'p-pasted')}\n` })).status).toBe(200);
  });

  test('signing in from another site is refused (Origin or Sec-Fetch-Site)', async () => {
    const token = h.token('partner', 'p-cross');
    expectError(await h.http().post('/portal/session').set('Origin', 'https://evil.example').send({ token }), 403, 'CROSS_ORIGIN_REFUSED');
    expectError(await h.http().post('/portal/session').set('Sec-Fetch-Site', 'cross-site').set('Origin', 'https://evil.example').send({ token }), 403, 'CROSS_ORIGIN_REFUSED');
    expectError(await h.http().post('/portal/session').send({ token }), 403, 'CROSS_ORIGIN_REFUSED');
    const own = await h.http().post('/portal/session').set('Host', 'portal.example').set('Origin', 'http://portal.example').send({ token });
    expect(own.status).toBe(200);
  });

  test('GET /portal/session answers the session again and renews its idle expiry; without a live session 401', async () => {
    const { cookie, csrf } = await signIn('portal', h.token('partner', 'p-renew'));
    const key = (await sessionKey('portal', cookie))!;
    await h.redis.expire(key, 5);
    const again = await h.http().get('/portal/session').set('Cookie', cookie);
    expect([again.status, again.body]).toEqual([200, { partner: { sub: 'p-renew', role: 'partner' }, csrfToken: csrf }]);
    expect(await h.redis.ttl(key)).toBeGreaterThan(5);
    expect(await h.redis.ttl(key)).toBeLessThanOrEqual(600);
    expectError(await h.http().get('/portal/session'), 401, 'UNAUTHENTICATED');
    expectError(await h.http().get('/portal/session').set('Cookie', 'octo_portal=not-a-session'), 401, 'UNAUTHENTICATED');
  });

  test('a session ends when idle past PAGE_SESSION_IDLE_S, and when the JWT that opened it expires', async () => {
    const idle = await signIn('portal', h.token('partner', 'p-idle'));
    const key = (await sessionKey('portal', idle.cookie))!;
    await h.redis.pexpire(key, 1);
    await waitFor('the idle session to expire in Redis', async () => (await h.redis.exists(key)) === 0);
    expectError(await h.http().get('/portal/session').set('Cookie', idle.cookie), 401, 'UNAUTHENTICATED');

    const aged = await signIn('portal', h.token('partner', 'p-aged'));
    const agedKey = (await sessionKey('portal', aged.cookie))!;
    const stored = JSON.parse((await h.redis.get(agedKey))!) as Record<string, unknown>;
    await h.redis.set(agedKey, JSON.stringify({ ...stored, exp: Math.floor(Date.now() / 1000) - 1 }), 'EX', 600);
    expectError(await h.http().get('/portal/session').set('Cookie', aged.cookie), 401, 'UNAUTHENTICATED');
    expect(await h.redis.exists(agedKey)).toBe(0);
  });

  test('DELETE /portal/session needs the CSRF token, then revokes the session and clears the cookie', async () => {
    const { cookie, csrf } = await signIn('portal', h.token('partner', 'p-out'));
    expectError(await h.http().delete('/portal/session').set(SAME).set('Cookie', cookie), 403, 'CSRF_TOKEN_INVALID');
    expectError(await h.http().delete('/portal/session').set(SAME).set('Cookie', cookie).set('X-CSRF-Token', `${csrf.slice(0, -1)}A`), 403, 'CSRF_TOKEN_INVALID');
    expectError(await h.http().delete('/portal/session').set('Origin', 'https://evil.example').set('Cookie', cookie).set('X-CSRF-Token', csrf), 403, 'CROSS_ORIGIN_REFUSED');
    const out = await h.http().delete('/portal/session').set(SAME).set('Cookie', cookie).set('X-CSRF-Token', csrf);
    expect(out.status).toBe(204);
    expect((out.headers['set-cookie'] as unknown as string[])[0]).toMatch(/^octo_portal=; Path=\/portal; Max-Age=0; HttpOnly; SameSite=Strict$/);
    expectError(await h.http().get('/portal/session').set('Cookie', cookie), 401, 'UNAUTHENTICATED');
  });
});

describe('/portal/api: the documented partner routes, by session', () => {
  test('a partner reads its own integration and nobody else’s; the bearer header alone is not a session', async () => {
    const mine = await createAs('p-own');
    const theirs = await createAs('p-other');
    const { cookie } = await signIn('portal', h.token('partner', 'p-own'));
    const me = await h.http().get(`/portal/api${BASE}/me`).set('Cookie', cookie);
    expect([me.status, me.body.data._id]).toEqual([200, mine._id]);
    expect(me.headers['cache-control']).toBe('no-store');
    expect((await h.http().get(`/portal/api${BASE}/${mine._id}/sync-log`).set('Cookie', cookie)).status).toBe(200);
    expectError(await h.http().get(`/portal/api${BASE}/${theirs._id}`).set('Cookie', cookie), 404, 'NOT_FOUND');
    expectError(await h.http().get(`/portal/api${BASE}/${theirs._id}/products`).set('Cookie', cookie), 404, 'NOT_FOUND');
    expectError(await h.http().get(`/portal/api${BASE}/me`).set('Authorization', `Bearer ${h.token('partner', 'p-own')}`), 401, 'UNAUTHENTICATED');
    // Admin routes are not mounted for the portal: /admin reads as an integration id nobody owns.
    expectError(await h.http().get(`/portal/api${BASE}/admin`).set('Cookie', cookie), 404, 'NOT_FOUND');
  });

  test('a state-changing call needs the CSRF token and our origin; a rotated secret is answered no-store', async () => {
    await createAs('p-change');
    const { cookie, csrf } = await signIn('portal', h.token('partner', 'p-change'));
    const patch = () => h.http().patch(`/portal/api${BASE}/me`).set('Cookie', cookie).send({ handles_ticket_delivery: true });
    expectError(await patch().set(SAME), 403, 'CSRF_TOKEN_INVALID');
    expectError(await patch().set('Origin', 'https://evil.example').set('X-CSRF-Token', csrf), 403, 'CROSS_ORIGIN_REFUSED');
    const done = await patch().set(SAME).set('X-CSRF-Token', csrf);
    expect([done.status, done.body.data.handles_ticket_delivery]).toEqual([200, true]);
    const rotated = await h.http().post(`/portal/api${BASE}/me/webhook-secret/rotate`).set('Cookie', cookie).set(SAME).set('X-CSRF-Token', csrf).send({});
    expect([rotated.status, rotated.body.data.webhook_secret]).toEqual([200, expect.stringMatching(/^[0-9a-f]{64}$/)]);
    expect(rotated.headers['cache-control']).toBe('no-store');
  });
});

test('the documented answers that show a webhook secret are no-store on their own (create, rotation, admin create)', async () => {
  const partner = { Authorization: `Bearer ${h.token('partner', 'p-no-store')}` };
  const created = await h.http().post(BASE).set(partner).send(createBody());
  const rotated = await h.http().post(`${BASE}/me/webhook-secret/rotate`).set(partner).send({});
  const admin = await h.http().post(`${BASE}/admin/create`).set('Authorization', `Bearer ${h.token('admin', 'ops')}`).send({ partner_id: 'p-no-store-2', ...createBody() });
  expect([created, rotated, admin].map((res) => [res.status, res.headers['cache-control']])).toEqual([
    [201, 'no-store'],
    [200, 'no-store'],
    [201, 'no-store'],
  ]);
  expect((await h.http().get(`${BASE}/me`).set(partner)).headers['cache-control']).toBeUndefined();
});

describe('/console: admin only', () => {
  test('an admin session reads the fleet and approves; the portal’s cookie is not the console’s', async () => {
    const it = await createAs('p-fleet');
    const portal = await signIn('portal', h.token('partner', 'p-fleet'));
    expectError(await h.http().get(`/console/api${BASE}/admin`).set('Cookie', portal.cookie), 401, 'UNAUTHENTICATED');
    const res = await h.http().post('/console/session').set(SAME).send({ token: h.token('admin', 'ops-1') });
    expect(res.body).toEqual({ partner: { sub: 'ops-1', role: 'admin' }, csrfToken: expect.any(String) });
    const [cookie] = res.headers['set-cookie'] as unknown as string[];
    expect(cookie).toMatch(/^octo_console=[A-Za-z0-9_-]{43}; Path=\/console; HttpOnly; SameSite=Strict$/);
    const session = cookie!.split(';')[0]!;
    const list = await h.http().get(`/console/api${BASE}/admin?partner_id=p-fleet`).set('Cookie', session);
    expect([list.status, list.body.data.map((row: { _id: string }) => row._id)]).toEqual([200, [it._id]]);
    expect(list.headers['cache-control']).toBe('no-store');
    expect((await h.http().get(`/console/api${BASE}/${it._id}/health`).set('Cookie', session)).status).toBe(200);
    const approve = await h.http().post(`/console/api${BASE}/admin/${it._id}/approve`).set('Cookie', session).set(SAME).set('X-CSRF-Token', res.body.csrfToken as string);
    expect([approve.status, approve.body.data.isApproved]).toEqual([200, true]);
  });
});
