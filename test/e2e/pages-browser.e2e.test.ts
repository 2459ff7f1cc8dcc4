import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { generateCatalog, SlotCalendar, startStack, waitFor, waitForFinishedRun, type TestStack } from '@octo-sync/testkit';
import { CHROMIUM, haveChromium, PAGE_BUDGET_BYTES, screenshot, see, seriousViolations, settled, shippedBytes, signIn, tokenFor, watchProblems } from './pages-browser';

const BASE = '/api/v1/partner-integrations';
// A shared, noisy machine: generous deadlines for each step and each test (they wait on events, never on time).
jest.setTimeout(180_000);
if (!haveChromium) process.stderr.write(`\n*** SKIPPED: the portal and console browser tests need ${CHROMIUM} (apt-get install -y chromium) ***\n\n`);

/**
 * The partner portal and the operator console in headless Chromium, against the compiled gateway
 * and worker: a partner signs in, reads its synced catalog, a product and its calendar, a failed
 * run's reason, runs conformance, rotates its secret and syncs with the new one; it never reaches
 * another partner's integration. An admin filters the fleet to DOWN integrations and acts on one.
 * Every page passes axe-core (no serious or critical violation) under its CSP, and ships at most
 * 150 KB gzip.
 */
(haveChromium ? describe : describe.skip)('portal and console in headless Chromium', () => {
  const catalog = generateCatalog({ products: 12 });
  let stack: TestStack;
  let url: string;
  let browser: Browser;
  const ids: Record<'mine' | 'other' | 'down', string> = { mine: '', other: '', down: '' };
  const admin = `Bearer ${tokenFor('admin', 'ops-pages')}`;

  async function create(partner: string, approved: boolean): Promise<string> {
    const body = JSON.stringify({ partner_id: partner, base_url: stack.supplier.url, auth_type: 'bearer', auth_key: `k-${partner}`, handles_ticket_delivery: false, isApproved: approved });
    const response = await fetch(`${url}${BASE}/admin/create`, { method: 'POST', headers: { Authorization: admin, 'content-type': 'application/json' }, body });
    expect(response.status).toBe(201);
    return ((await response.json()) as { data: { _id: string } }).data._id;
  }

  beforeAll(async () => {
    stack = await startStack('e2e-pages', { catalog });
    const today = new Date().toISOString().slice(0, 10);
    stack.supplier.setAvailability(SlotCalendar.generate({ products: catalog, start: today, days: 3, times: ['09:00', '14:00'], offset: '+00:00' }));
    const [gateway] = await Promise.all([stack.start('gateway'), stack.start('worker')]);
    url = await stack.gatewayUrl(gateway);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    ids.mine = await create('p-portal', true);
    ids.other = await create('p-other', false);
    ids.down = await create('p-down', false);
    await stack.db.health.recordFailure(ids.down, 1);
    await waitFor('the first sync to succeed', async () => (await stack.db.runs.listRuns(ids.mine, 5)).some((run) => run.status === 'succeeded'), { timeoutMs: 60_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** A fresh browser profile (no cookie), a page in it, and the problems it reports. */
  async function openPage(viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
    const context = await browser.newContext({ viewport });
    context.setDefaultTimeout(60_000);
    const page = await context.newPage();
    return { context, page, problems: watchProblems(page) };
  }

  async function expectAccessible(page: Page, name: string): Promise<void> {
    await settled(page);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, name);
  }

  test('a partner signs in, sees its synced catalog, finds a product with its raw JSON and its calendar', async () => {
    const { context, page, problems } = await openPage();
    await page.goto(`${url}/portal`);
    await expectAccessible(page, 'portal-sign-in');
    await signIn(page, `${url}/portal`, tokenFor('partner', 'p-portal'));
    await page.getByRole('heading', { name: 'Health and freshness' }).waitFor();
    await page.getByText('Approved', { exact: true }).waitFor();
    await expectAccessible(page, 'portal-integration');

    await page.getByRole('link', { name: 'Catalog' }).click();
    await see(page, '12 products');
    await expectAccessible(page, 'portal-catalog');
    const wanted = catalog[4]!;
    await page.getByLabel('Search products by id or title').fill(wanted.id);
    await page.getByRole('button', { name: 'Search' }).click();
    await see(page, /^1 product$/);
    await page.getByRole('link', { name: wanted.id }).click();
    await page.getByRole('heading', { name: `Product ${wanted.id}` }).waitFor();
    const raw = await page.getByLabel('Raw OCTO JSON of the product').textContent();
    expect(JSON.parse(raw!)).toMatchObject({ id: wanted.id });
    for (const option of wanted.options) await page.getByText(option.id, { exact: true }).first().waitFor();
    await expectAccessible(page, 'portal-product');

    // Slots come from a pull the page asks for, then show on the product's calendar.
    await page.getByRole('link', { name: 'Sync and refresh' }).click();
    await page.getByLabel('Product id (empty: every product)').fill(wanted.id);
    await page.getByRole('button', { name: 'Pull availability' }).click();
    await page.getByText(/Run .*: succeeded|Queued as run/).waitFor();
    await page.goto(`${url}/portal#/availability/${wanted.id}`);
    await waitFor('the pulled slots on the calendar', async () => {
      await page.getByRole('button', { name: 'Next month' }).click();
      await page.getByRole('button', { name: 'Previous month' }).click();
      await page.locator('.calendar caption').waitFor();
      return (await page.locator('.calendar .slot').count()) > 0;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    await expectAccessible(page, 'portal-availability');
    expect(problems).toEqual([]);
    await context.close();
  });

  test('a partner reads a failed run’s reason, runs conformance, reads its audit trail and signs out', async () => {
    stack.supplier.behave({ kind: 'status', status: 401 });
    const forced = await fetch(`${url}${BASE}/admin/${ids.mine}/sync`, { method: 'POST', headers: { Authorization: admin, Prefer: 'respond-async' } });
    const run = await waitForFinishedRun(stack.db, ((await forced.json()) as { data: { run_id: string } }).data.run_id);
    stack.supplier.behave(null);
    expect(run.status).toBe('failed');

    const { context, page, problems } = await openPage();
    await signIn(page, `${url}/portal#/runs`, tokenFor('partner', 'p-portal'));
    await see(page, run.errorMessage!.slice(0, 40));
    await expectAccessible(page, 'portal-runs');

    await page.getByRole('link', { name: 'Conformance' }).click();
    await page.getByRole('button', { name: 'Run the conformance check' }).click();
    await page.getByRole('heading', { name: /^Passed: / }).waitFor();
    await expectAccessible(page, 'portal-conformance');

    await page.getByRole('link', { name: 'Alerts and audit' }).click();
    await page.getByRole('cell', { name: 'sync forced' }).first().waitFor();
    await expectAccessible(page, 'portal-activity');

    // Signing out revokes the session on the server: the cookie opens nothing any more.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Your token (JWT)').waitFor();
    const after = await page.evaluate(async (paths) => Promise.all(paths.map(async (path) => (await fetch(path)).status)), ['/portal/session', `/portal/api${BASE}/me`]);
    expect(after).toEqual([401, 401]);
    expect(problems).toEqual([]);
    await context.close();
  });

  test('a partner changes its settings, rotates its secret (shown once, with the grace period) and syncs with the new one from the page', async () => {
    const { context, page, problems } = await openPage();
    await signIn(page, `${url}/portal#/settings`, tokenFor('partner', 'p-portal'));
    await page.getByLabel(/^Every how many minutes/).fill('120');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await see(page, 'Settings saved.');
    await expectAccessible(page, 'portal-settings');
    expect((await stack.db.integrations.findById(ids.mine))?.availabilityPullIntervalMinutes).toBe(120);

    await page.getByRole('link', { name: 'Webhook secret' }).click();
    await page.getByLabel(/How long the current secret keeps working/).fill('3600');
    await page.getByRole('button', { name: 'Rotate the secret' }).click();
    const secret = await page.getByLabel('x-webhook-secret').inputValue();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(await page.getByLabel('Standard Webhooks signing secret').inputValue()).toMatch(/^whsec_/);
    await page.getByText(/keeps working until/).waitFor();
    await expectAccessible(page, 'portal-secret');
    // Shown once: after a reload the page has no secret to show.
    await page.reload();
    await page.getByRole('button', { name: 'Rotate the secret' }).waitFor();
    expect(await page.content()).not.toContain(secret);

    await page.getByRole('link', { name: 'Sync and refresh' }).click();
    await page.getByLabel(/^Webhook secret/).fill(secret);
    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.getByText(/Run .*: (nothing changed|\d+ products synced|Queued)/).waitFor();
    await expectAccessible(page, 'portal-operations');
    expect(problems).toEqual([]);
    await context.close();
  });

  test('a partner never sees another partner’s integration through the pages, and the phone layout has no sideways scroll', async () => {
    const { context, page } = await openPage({ width: 390, height: 844 });
    await signIn(page, `${url}/portal`, tokenFor('partner', 'p-portal'));
    for (const path of ['', '/sync-log', '/health', '/products', '/availability', '/events', '/alerts']) {
      const status = await page.evaluate(async (target) => (await fetch(target)).status, `/portal/api${BASE}/${ids.other}${path}`);
      expect([path, status]).toEqual([path, 404]);
    }
    const mine = await page.evaluate(async (target) => ((await (await fetch(target)).json()) as { data: { _id: string } }).data._id, `/portal/api${BASE}/me`);
    expect(mine).toBe(ids.mine);
    for (const [section, heading] of [['overview', 'Integration'], ['runs', 'Runs'], ['catalog', 'Catalog'], ['activity', 'Alerts and audit trail']] as const) {
      await page.goto(`${url}/portal#/${section}`);
      await page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor();
      await settled(page);
      const html = await page.content();
      expect(html).not.toContain(ids.other);
      expect(html).not.toContain('p-other');
      expect(await page.evaluate('document.documentElement.scrollWidth <= innerWidth')).toBe(true);
    }
    await screenshot(page, 'portal-phone');
    // An admin token does not open the portal: the console is the admin's page.
    const refused = await page.evaluate(async (token) => (await fetch('/portal/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) })).status, tokenFor('admin', 'ops-pages'));
    expect(refused).toBe(403);
    await context.close();
  });

  test('an admin filters the fleet to DOWN integrations, sorts it, approves one, forces a sync, and opens an integration’s view and its jobs', async () => {
    const { context, page, problems } = await openPage();
    await page.goto(`${url}/console`);
    await expectAccessible(page, 'console-sign-in');
    await signIn(page, `${url}/console`, tokenFor('admin', 'ops-pages'));
    await see(page, /^3 integrations · queue backlog: \d+ waiting/);
    await expectAccessible(page, 'console-fleet');

    await page.getByLabel('Show').selectOption('down');
    await see(page, /^1 integration · /);
    const shown = await page.locator('.fleet > li h2').allTextContents();
    expect(shown).toHaveLength(1);
    expect(shown[0]).toContain('p-down');
    expect(shown[0]).toContain('DOWN');
    await expectAccessible(page, 'console-fleet-down');

    await page.getByLabel('Show').selectOption('all');
    const sorted = page.waitForResponse((response) => response.url().includes('sort=health_status'));
    await page.getByLabel('Sort by').selectOption('health_status');
    expect((await sorted).status()).toBe(200);
    await settled(page);
    expect(await page.locator('.fleet > li h2').first().textContent()).toContain('p-down');
    await page.getByRole('button', { name: 'Approve p-down' }).click();
    await see(page, 'Approved p-down');
    expect((await stack.db.integrations.findById(ids.down))?.isApproved).toBe(true);
    const runsBefore = (await stack.db.runs.listRuns(ids.mine, 100)).length;
    await page.getByRole('button', { name: 'Force a sync of p-portal' }).click();
    await see(page, 'Sync of p-portal queued');
    await waitFor('the forced run', async () => (await stack.db.runs.listRuns(ids.mine, 100)).length > runsBefore);

    await page.locator('.fleet > li', { hasText: 'p-portal' }).getByRole('link', { name: 'Open its view' }).click();
    await page.getByRole('heading', { name: 'Health and freshness' }).waitFor();
    await page.getByRole('link', { name: 'Catalog' }).click();
    await see(page, '12 products');
    await expectAccessible(page, 'console-integration');

    // The sign-in also opened the queue dashboard's session, so its links work.
    await page.getByRole('link', { name: 'Back to the fleet' }).click();
    const jobs = await page.locator('.fleet > li', { hasText: 'p-portal' }).getByRole('link', { name: 'Its last job in Bull Board' }).getAttribute('href');
    expect(problems).toEqual([]);
    expect((await page.goto(`${url}${jobs!}`))?.status()).toBe(200);
    await context.close();
  });

  test('each page ships at most 150 KB gzip on a cold cache (HTML shell, script, stylesheet)', async () => {
    for (const area of ['portal', 'console'] as const) {
      const shell = await (await fetch(`${url}/${area}`)).text();
      expect(shell).toContain(`src="/${area}/assets/${area}.js"`);
      expect(shell).toContain(`href="/${area}/assets/app.css"`);
      const sizes = await shippedBytes(url, area);
      const total = Object.values(sizes).reduce((sum, bytes) => sum + bytes, 0);
      process.stderr.write(`${area}: ${total} bytes gzip (${JSON.stringify(sizes)}), budget ${PAGE_BUDGET_BYTES}\n`);
      expect(total).toBeLessThanOrEqual(PAGE_BUDGET_BYTES);
    }
  });
});
