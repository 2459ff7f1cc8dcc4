import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { generateCatalog, octotravelCatalog, startTestSupplier, type TestSupplier } from '@octo-sync/testkit';

const ROOT = join(__dirname, '..', '..', '..');
const CLI = join(ROOT, 'services', 'worker', 'src', 'conformance.cli.ts');
let supplier: TestSupplier;

beforeAll(async () => {
  supplier = await startTestSupplier({ catalog: generateCatalog({ products: 4 }) });
});
afterAll(async () => {
  await supplier?.close();
});
afterEach(() => {
  supplier.behave(null);
  supplier.setCatalog(generateCatalog({ products: 4 }));
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `npm run conformance -- args` as its own process and waits for it to exit. */
function conformance(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env: { ...process.env, OCTO_ALLOWED_HOSTS: '', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

const local = () => ['--base-url', supplier.url, '--allow-host', supplier.hostPort];

test('a good catalog: exit 0 and a report of what would be stored; the credential is sent as a sync sends it', async () => {
  const run = await conformance([...local(), '--auth-type', 'api_key', '--auth-key', 'sk_conformance_1']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toContain('a sync would succeed');
  expect(run.stdout).toContain('would store: 4 products, 8 options, 24 units');
  expect(run.stdout).toContain('stable: yes');
  expect(supplier.requests.at(-1)?.headers.authorization).toBe('sk_conformance_1');
});

test('--json prints one document with the contract’s fields', async () => {
  const run = await conformance([...local(), '--json']);
  expect(run.code).toBe(0);
  const report = JSON.parse(run.stdout) as Record<string, unknown>;
  expect(report).toEqual(
    expect.objectContaining({ ok: true, products: 4, options: 8, units: 24, bytes: expect.any(Number), fetch_ms: expect.any(Number), stable: true, errors: [], warnings: expect.any(Array) }),
  );
  expect(report.warnings).toContain('the answer has no Octo-Capabilities header (required by OCTO; tolerated)');
});

test('a broken catalog: exit 1 with every error that would fail a sync', async () => {
  supplier.setCatalog([{ id: 'p1', options: [{ id: 'DEFAULT', units: [{ id: 7 }] }] }, { id: 'p1', options: 'none' }]);
  const run = await conformance([...local(), '--json']);
  expect(run.code).toBe(1);
  const report = JSON.parse(run.stdout) as { ok: boolean; errors: string[] };
  expect(report.ok).toBe(false);
  expect(report.errors).toEqual([
    'CATALOG_INVALID: [0].options[0].units[0].id: must be a string (got a number)',
    'CATALOG_INVALID: [1].id: duplicate product id "p1" (first at [0])',
    'CATALOG_INVALID: [1].options: must be an array (got a string)',
  ]);
});

test('a supplier refusing the credential: exit 1, the error in words', async () => {
  supplier.behave({ kind: 'status', status: 401, body: '{"error":"UNAUTHORIZED","errorMessage":"bad key"}' });
  const run = await conformance(local());
  expect(run.code).toBe(1);
  expect(run.stdout).toMatch(/a sync would FAIL[\s\S]*SUPPLIER_AUTH_REJECTED/);
});

test('a loopback supplier without --allow-host is refused as a sync would refuse it (exit 1)', async () => {
  const run = await conformance(['--base-url', supplier.url]);
  expect(run.code).toBe(1);
  expect(run.stdout).toContain('SUPPLIER_ADDRESS_BLOCKED');
  expect((await conformance(['--base-url', supplier.url], { OCTO_ALLOWED_HOSTS: supplier.hostPort })).code).toBe(0);
});

test('bad usage: exit 2 with the usage', async () => {
  for (const args of [[], ['--base-url', 'ftp://x.example'], ['--base-url', supplier.url, '--auth-type', 'basic'], ['--nope']]) {
    const run = await conformance(args);
    expect({ args, code: run.code }).toEqual({ args, code: 2 });
    expect(run.stderr).toContain('usage: npm run conformance');
    expect(run.stdout).toBe('');
  }
});

test('an unstable catalog: stable false, naming the paths that differ (a timestamp, a shuffled array)', async () => {
  supplier.setChangingCatalog((n) => {
    const catalog = generateCatalog({ products: 2 });
    const first = catalog[0]!;
    first.generatedAt = `2026-06-23T06:00:0${n}Z`;
    if (n % 2 === 0) first.options[0]!.availabilityLocalStartTimes.reverse();
    return catalog;
  });
  const run = await conformance([...local(), '--json']);
  expect(run.code).toBe(0);
  const report = JSON.parse(run.stdout) as { stable: boolean; differences: string[]; warnings: string[] };
  expect(report.stable).toBe(false);
  expect(report.differences).toEqual([
    '[0].options[0].availabilityLocalStartTimes: the same elements in another order (order carries no meaning here: keep it fixed)',
    '[0].generatedAt: "2026-06-23T06:00:01Z", then "2026-06-23T06:00:02Z"',
  ]);
  expect(report.warnings).toContain('two fetches gave different catalogs: every sync would rewrite the changed products (see differences)');
});

test('the octotravel mock supplier’s shape, with its quirks: exit 0, each quirk a warning', async () => {
  supplier.setCatalog(octotravelCatalog());
  const run = await conformance([...local(), '--json']);
  expect(run.code).toBe(0);
  const report = JSON.parse(run.stdout) as { products: number; options: number; units: number; stable: boolean; errors: string[]; warnings: string[] };
  expect(report).toMatchObject({ products: 3, options: 4, units: 6, stable: true, errors: [] });
  const museum = '"2b8324f7-4b2d-4b72-b6fd-1f3f2c2c2b02"';
  const bare = '"3c9435a8-5c3e-4c83-87ae-2a4a3d3d3c03"';
  expect(report.warnings).toEqual(
    expect.arrayContaining([
      expect.stringMatching(new RegExp(`^1 of 3 products send availabilityLocalStartTimes \\["00:00"\\].*${museum}$`)),
      expect.stringMatching(new RegExp(`^1 of 3 products use old-style content fields.*${museum}$`)),
      expect.stringMatching(new RegExp(`^1 of 3 products have no title although octo/content was requested.*${bare}$`)),
      expect.stringMatching(new RegExp(`^1 of 3 products have no pricing although octo/pricing was requested.*${bare}$`)),
      'the answer has no Content-Language header although octo/content was requested (required by OCTO; tolerated)',
    ]),
  );
});
