import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import jwt from 'jsonwebtoken';
import type { Page } from 'playwright-core';
import { STACK_JWT_SECRET } from '@octo-sync/testkit';

/** Debian's package (`apt-get install chromium`; .ci/run installs it): never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

/** The budget of issue 25: what a page ships on a cold cache (HTML + JS + CSS), gzip. */
export const PAGE_BUDGET_BYTES = 150 * 1024;

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const SCREENSHOTS = resolve(__dirname, '../../docs/screenshots');

export function tokenFor(role: 'partner' | 'admin', sub: string): string {
  return jwt.sign({ role }, STACK_JWT_SECRET, { algorithm: 'HS256', subject: sub, expiresIn: '1h' });
}

/** Every CSP refusal and uncaught page error, collected as the page runs (Chromium logs CSP refusals on the console). */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return problems;
}

/** Signs in through the page's own form, as a person would: paste the token, press the button. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Your token (JWT)').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Waits for `text` on the page; on a timeout the error says what the page showed instead (an error note, a count). */
export async function see(page: Page, text: string | RegExp): Promise<void> {
  try {
    await page.getByText(text).first().waitFor();
  } catch (error) {
    const shown = await page.locator('body').innerText().catch(() => '(no page)');
    throw new Error(`${String(text)} never showed; the page showed:\n${shown}`, { cause: error });
  }
}

/** Until nothing on the page is still loading (each view shows a "Loading…" status while its calls run). */
export async function settled(page: Page): Promise<void> {
  await page.getByRole('status').filter({ hasText: /^Loading…$/ }).first().waitFor({ state: 'detached' });
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/** axe-core on the page as it is now: the serious and critical violations (none expected). */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern (no script tag).
  await page.evaluate(AXE);
  // A string: the test's tsconfig has no DOM types, and this runs in the page.
  const { violations, passes } = await page.evaluate<{ violations: AxeViolation[]; passes: number }>('axe.run(document).then((r) => ({ violations: r.violations, passes: r.passes.length }))');
  // axe really looked at a page (an empty document or a failed injection passes nothing).
  if (passes < 10) throw new Error(`axe-core passed only ${passes} rules: did the page render?`);
  return violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.impact}: ${violation.id} (${violation.help}) at ${JSON.stringify(violation.nodes.map((node) => node.target))}`);
}

/** docs/screenshots/<name>.png, only with UPDATE_SCREENSHOTS=1 (so a test run never rewrites tracked files). */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.UPDATE_SCREENSHOTS !== '1') return;
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** The gzip bytes a cold load of `/<area>` ships: its HTML shell and the script and stylesheet the shell names. */
export async function shippedBytes(url: string, area: 'portal' | 'console'): Promise<Record<string, number>> {
  const paths = [`/${area}`, `/${area}/assets/${area}.js`, `/${area}/assets/app.css`];
  const sizes: Record<string, number> = {};
  for (const path of paths) {
    const response = await fetch(`${url}${path}`);
    if (!response.ok) throw new Error(`GET ${path} answered ${response.status}`);
    sizes[path] = gzipSync(Buffer.from(await response.arrayBuffer()), { level: 9 }).length;
  }
  return sizes;
}
