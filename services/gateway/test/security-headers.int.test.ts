import { BASE, useGateway } from './harness';

const UI = `${BASE}/admin/queues/ui`;

/**
 * Security headers have one owner (src/security-headers.ts): every answer, whoever writes it (our
 * routes, the error middleware, Bull Board's own Express app), says `nosniff` and not which
 * framework serves it; the dashboard's answers add its CSP and refuse to be framed.
 */
describe('security headers on every answer', () => {
  const { h, partner, admin } = useGateway();

  const answers: Array<[string, number, () => Promise<{ status: number; headers: Record<string, string> }>]> = [
    ['liveness', 200, () => h.http().get('/healthz')],
    ['metrics', 200, () => h.http().get('/metrics')],
    ['an unknown path (404)', 404, () => h.http().get('/no-such-path')],
    ['an API call without credentials (401)', 401, () => h.http().get(`${BASE}/admin/queues`)],
    ['invalid JSON (400)', 400, () => h.http().post(BASE).set(partner('p-headers')).set('content-type', 'application/json').send('{')],
    ['the dashboard without credentials (401)', 401, () => h.http().get(`${UI}/`)],
    ['the dashboard page', 200, () => h.http().get(`${UI}/`).set(admin())],
    ['a dashboard asset', 200, () => h.http().get(`${UI}/static/favicon.ico`).set(admin())],
    ['the dashboard’s JSON', 200, () => h.http().get(`${UI}/api/queues`).set(admin())],
  ];

  test.each(answers)('%s: nosniff, no X-Powered-By', async (_, status, call) => {
    const res = await call();
    expect(res.status).toBe(status);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  test('the dashboard’s answers carry its CSP (nothing framed, nothing from elsewhere, no inline script) and X-Frame-Options DENY', async () => {
    for (const path of [`${UI}/`, `${UI}/api/queues`]) {
      const res = await h.http().get(path).set(admin());
      expect(res.status).toBe(200);
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toMatch(/^default-src 'none'; /);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self';");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
      expect(res.headers['x-frame-options']).toBe('DENY');
    }
  });

  test('API answers are not pages: no CSP', async () => {
    const res = await h.http().get('/healthz');
    expect(res.headers['content-security-policy']).toBeUndefined();
  });
});
