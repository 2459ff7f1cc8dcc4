import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { chromium, type Browser } from 'playwright-core';
import { generateCatalog, startStack, STACK_JWT_SECRET, waitFor, type TestStack } from '@octo-sync/testkit';

const BASE = '/api/v1/partner-integrations';
const UI = `${BASE}/admin/queues/ui`;
/** Debian's package (`apt-get install chromium`; .ci/run installs it): never a downloaded browser. */
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) process.stderr.write(`\n*** SKIPPED: the queue dashboard browser test needs ${CHROMIUM} (apt-get install -y chromium) ***\n\n`);

/**
 * The queue dashboard in a real browser (headless Chromium): an admin logs in through the session
 * endpoint, opens the dashboard and sees the queues and a failed job's reason; a browser without the
 * cookie sees no queue.
 */
(haveChromium ? describe : describe.skip)('queue dashboard in headless Chromium', () => {
  let stack: TestStack;
  let url: string;
  let browser: Browser;
  const admin = `Bearer ${jwt.sign({ role: 'admin' }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: 'ops-browser', expiresIn: '1h' })}`;

  beforeAll(async () => {
    stack = await startStack('e2e-dashboard', { catalog: generateCatalog({ products: 2 }) });
    const [gateway] = await Promise.all([stack.start('gateway'), stack.start('worker')]);
    url = await stack.gatewayUrl(gateway);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** A sync the supplier refuses (401 is permanent): a failed job on the catalog queue. */
  async function failedSync(): Promise<string> {
    const headers = { Authorization: admin, 'content-type': 'application/json' };
    const body = JSON.stringify({ partner_id: 'p-browser', base_url: `${stack.supplier.url}/`, auth_type: 'bearer', auth_key: 'k-browser', handles_ticket_delivery: false, isApproved: false });
    const created = (await (await fetch(`${url}${BASE}/admin/create`, { method: 'POST', headers, body })).json()) as { data: { _id: string } };
    stack.supplier.behave({ kind: 'status', status: 401 });
    await stack.db.integrations.setApproved(created.data._id, true);
    await fetch(`${url}${BASE}/admin/${created.data._id}/sync`, { method: 'POST', headers: { Authorization: admin, Prefer: 'respond-async' } });
    return waitFor('the run to fail', async () => (await stack.db.runs.listRuns(created.data._id, 1))[0]?.errorMessage ?? undefined);
  }

  test('an admin logs in and sees the queues and the failed job’s reason, under its CSP with no violation; without the cookie, no queue', async () => {
    const reason = await failedSync();
    const context = await browser.newContext();
    const page = await context.newPage();
    // Chromium reports every resource, script or style the CSP refuses on the console.
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    page.on('pageerror', (error) => violations.push(`page error: ${error.message}`));
    await page.goto(`${url}/healthz`);
    const session = await page.evaluate(async ([path, authorization]) => (await fetch(path!, { method: 'POST', headers: { Authorization: authorization! } })).status, [`${BASE}/admin/session`, admin]);
    expect(session).toBe(200);

    const opened = await page.goto(`${url}${UI}/queue/catalog?status=failed`);
    const headers = opened?.headers() ?? {};
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['content-security-policy']).toContain("default-src 'none'");
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['x-powered-by']).toBeUndefined();
    await page.getByText(reason.slice(0, 40)).first().waitFor({ timeout: 30_000 });
    for (const queue of ['catalog', 'availability', 'probes']) await page.getByText(queue, { exact: true }).first().waitFor();
    // The job's details open (more of the page's scripts and styles load on demand).
    await page.getByText(reason.slice(0, 40)).first().click();
    await page.waitForLoadState('networkidle');
    // The one refusal on purpose: the page's Google Fonts stylesheet (no outside host).
    expect(violations.filter((text) => !text.includes('https://fonts.googleapis.com/'))).toEqual([]);
    expect(violations.length).toBeLessThanOrEqual(1);
    const screenshot = join(tmpdir(), `octo-sync-dashboard-${process.pid}.png`);
    await page.screenshot({ path: screenshot, fullPage: true });
    process.stderr.write(`dashboard screenshot: ${screenshot}\n`);

    const stranger = await (await browser.newContext()).newPage();
    const answer = await stranger.goto(`${url}${UI}/queue/catalog?status=failed`);
    expect(answer?.status()).toBe(401);
    const text = await stranger.content();
    expect(text).not.toContain('catalog');
    expect(text).not.toContain(reason.slice(0, 40));
    await context.close();
  });
});
