import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { ConformanceReport } from '@octo-sync/octo';
import { generateCatalog, SlotCalendar, startTestSupplier, type TestSupplier } from '@octo-sync/testkit';

/*
 * `npm run conformance` beyond the catalog, end to end against the local test supplier: a sample
 * of availability with the quirks a pull tolerates, the unknown product, languages, currencies and
 * answer times.
 */

const ROOT = join(__dirname, '..', '..', '..');
const CLI = join(ROOT, 'services', 'worker', 'src', 'conformance.cli.ts');
const catalog = generateCatalog({ products: 4 });
const [first, second] = catalog as [(typeof catalog)[0], (typeof catalog)[0]];
let supplier: TestSupplier;

/** Today (UTC) plus `days`: inside the window the check asks for. */
function day(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** One slot per quirk a pull tolerates, and a slot as OCTO wants it. */
function quirkyCalendar(): SlotCalendar {
  const calendar = new SlotCalendar();
  const slot = (id: string, date: string) => ({ id, localDateTimeStart: `${date}T09:00:00+00:00`, localDateTimeEnd: `${date}T10:00:00+00:00`, allDay: false, utcCutoffAt: `${date}T08:00:00Z` });
  calendar.put(first.id, first.options[0]!.id, { ...slot('good', day(1)), status: 'AVAILABLE', vacancies: 5, capacity: 10 });
  calendar.put(first.id, first.options[0]!.id, { ...slot('freesale-numbers', day(2)), status: 'FREESALE', vacancies: 999, capacity: 999 });
  calendar.put(second.id, second.options[0]!.id, { ...slot('sold-out-3', day(1)), status: 'SOLD_OUT', vacancies: 3, capacity: 10 });
  const { utcCutoffAt: _omitted, ...noCutoff } = slot('no-cutoff', day(3));
  calendar.put(second.id, second.options[0]!.id, { ...noCutoff, status: 'AVAILABLE', vacancies: 2.5, capacity: 10 });
  return calendar;
}

beforeAll(async () => {
  supplier = await startTestSupplier({ catalog, languages: { available: ['en', 'de'] }, currencies: { supported: ['EUR', 'USD'] } });
  supplier.setAvailability(quirkyCalendar());
});
afterAll(async () => {
  await supplier?.close();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function conformance(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env: { ...process.env, OCTO_ALLOWED_HOSTS: '' }, timeout: 90_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

const local = () => ['--base-url', supplier.url, '--allow-host', supplier.hostPort];

async function report(args: string[]): Promise<ConformanceReport> {
  const run = await conformance([...local(), '--json', ...args]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as ConformanceReport;
}

test('availability, the unknown product, languages, currencies and answer times, each honoured or not', async () => {
  const seen = supplier.requests.length;
  const found = await report(['--locales', 'de,fr', '--currencies', 'USD,GBP']);
  expect(found.availability).toEqual({
    sample: catalog.slice(0, 3).map((p) => `${p.id}/${p.options[0]!.id}`),
    local_date_start: day(0),
    local_date_end: day(6),
    slots: 4,
    calendar: 'not_served',
    errors: [],
    quirks: [
      '1 of 4 slots are FREESALE with vacancies or capacity numbers (OCTO wants null; stored as sent): "freesale-numbers"',
      '1 of 4 slots are SOLD_OUT with vacancies other than 0 (stored as sent; the status decides): "sold-out-3"',
      '1 of 4 slots have no utcCutoffAt (OCTO requires it; stored without a cut-off): "no-cutoff"',
      '1 of 4 slots carry vacancies or capacity that are not non-negative integers (stored as unknown): "no-cutoff"',
    ],
  });
  expect(found.unknown_product).toEqual({
    known_id: first.id,
    known_status: 200,
    unknown_id: expect.stringMatching(/^octo-sync-conformance-/),
    status: 400,
    error_code: 'INVALID_PRODUCT_ID',
    answer: 'octo',
    note: 'answered as OCTO says: 400 INVALID_PRODUCT_ID',
  });
  expect(found.locales).toEqual([
    { locale: 'de', content_language: 'de', available_languages: ['en', 'de'], honoured: true },
    { locale: 'fr', content_language: 'en', available_languages: ['en', 'de'], honoured: false },
  ]);
  expect(found.currencies).toEqual([
    { currency: 'USD', currencies_seen: ['USD'], honoured: true },
    { currency: 'GBP', currencies_seen: [], honoured: null, error: expect.stringMatching(/^SUPPLIER_HTTP_ERROR: .*400.*GBP is not sold here/) },
  ]);
  // Answers only: two catalog fetches and one per locale; three availability calls and USD's (GBP was refused).
  expect(found.latency.catalog).toMatchObject({ calls: 4, threshold_ms: 10_000 });
  expect(found.latency.availability).toMatchObject({ calls: 4, threshold_ms: 1_000 });
  expect(found.latency.calendar).toBeNull();

  const asked = supplier.requests.slice(seen);
  const german = asked.find((r) => r.headers['accept-language'] === 'de');
  expect(String(german?.headers['octo-capabilities'])).toContain('octo/content');
  expect(asked.filter((r) => r.method === 'POST' && r.path === '/availability').every((r) => String(r.headers['octo-capabilities']).includes('octo/pricing'))).toBe(true);
  expect(asked.filter((r) => r.path === '/availability/calendar')).toHaveLength(1);
});

test('a supplier that ignores the currency and answers unknown ids in other styles', async () => {
  supplier.setCurrencies({ supported: ['EUR'], ignoreParameter: true });
  const verdicts: Record<string, unknown> = {};
  try {
    for (const style of ['404-octo', '404', '200'] as const) {
      supplier.setUnknownProductStyle(style);
      const found = await report(style === '404-octo' ? ['--currencies', 'USD'] : []);
      if (style === '404-octo') expect(found.currencies).toEqual([{ currency: 'USD', currencies_seen: ['EUR'], honoured: false }]);
      verdicts[style] = { status: found.unknown_product?.status, answer: found.unknown_product?.answer };
    }
  } finally {
    supplier.setCurrencies({ supported: ['EUR', 'USD'] });
    supplier.setUnknownProductStyle('octo');
  }
  expect(verdicts).toEqual({
    '404-octo': { status: 404, answer: 'tolerated' },
    '404': { status: 404, answer: 'not_understood' },
    '200': { status: 200, answer: 'not_understood' },
  });
});

test('the text report names each section; bad --locales and --currencies: exit 2 naming every bad entry', async () => {
  const run = await conformance([...local(), '--locales', 'de', '--currencies', 'EUR']);
  expect(run.code).toBe(0);
  expect(run.stdout).toContain('calendar not served');
  expect(run.stdout).toContain('unknown product (GET /products/octo-sync-conformance-');
  expect(run.stdout).toContain('locale de: honoured (Content-Language de; Available-Languages en, de)');
  expect(run.stdout).toContain('currency EUR: honoured (prices in EUR)');
  expect(run.stdout).toMatch(/POST \/availability: p50 \d+ ms, p99 \d+ ms over 4 calls; p90 \d+ ms (within|OVER) 1000 ms/);

  const bad = await conformance([...local(), '--locales', 'de,not a tag', '--currencies', 'eur,USD']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--locales "not a tag" is not a BCP 47 language tag');
  expect(bad.stderr).toContain('--currencies "eur" is not an ISO 4217 code');
});
