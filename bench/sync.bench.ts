/**
 * `npm run bench:sync -- --products 10000 --options 5 --units 4`
 *
 * Drives the real `catalog.sync` path (the worker process of `npm run start:worker`, fed through
 * the JobProducer, fetching over HTTP from the test supplier) against its own database and Redis
 * prefix, for four scenarios (fresh and 1% changed first with the change feed off, for its cost), then measures two references on the same rows: one Prisma upsert
 * per row (naive) and COPY into unindexed staging tables (floor). Each scenario also reports the
 * worker's event-loop delay (lib/loop-delay-probe.mjs). Progress goes to stderr; the last line on
 * stdout is one JSON object with every figure.
 */
import { randomBytes } from 'node:crypto';
import { createDb, type Db, type RunCounts } from '@octo-sync/db';
import { catalogSyncJob, createRedis, JobProducer } from '@octo-sync/jobs';
import { clearPrefix, generateCatalog, startTestSupplier, type GeneratedProduct, type TestSupplier } from '@octo-sync/testkit';
import { CatalogMapper, type CatalogRows } from '@octo-sync/worker/src/catalog/map-catalog';
import { parseArgs, note, printResult, round } from './lib/args';
import { BENCH_REDIS_URL, dropBenchDatabase, recreateDatabase } from './lib/bench-db';
import { copyFloor, naiveUpserts } from './lib/references';
import { languageScenarios } from './lib/sync-languages';
import { PeakRss } from './lib/rss';
import { benchWorkerEnv, startWorkerProcess, type LoopDelay, type WorkerProcess } from './lib/worker-process';
import { judge } from './targets';

const args = parseArgs(process.argv.slice(2), {
  products: 10_000,
  options: 5,
  units: 4,
  seed: 7,
  /** Products whose rows (with their options and units) the naive reference upserts one by one. */
  naiveProducts: 300,
  database: 'octo_sync_bench',
  /** Keep the database afterwards (to look at it); dropped by default. */
  keep: false,
  /** Write a V8 CPU profile of the worker to this folder (node --cpu-prof). */
  cpuProf: '',
  /** Exit non-zero when a target (bench/targets.ts) is missed. */
  check: false,
});

interface Scenario {
  name: string;
  wallSeconds: number;
  runSeconds: number;
  status: string;
  rowsWritten: number;
  /** `product_fingerprints` rows written (not catalog rows: one narrow row per product whose bytes changed). */
  fingerprintRowsWritten: number;
  counts: RunCounts | null;
  peakRssBytes: number;
  payloadBytes: number;
  /** The worker's event-loop delay from the request to the run's end. */
  loopDelay: LoopDelay;
}

const AUTH_KEY = 'bench-supplier-key';

async function main(): Promise<void> {
  const prefix = `octo-bench:sync:${randomBytes(4).toString('hex')}`;
  note(`generating ${args.products} x ${args.options} x ${args.units} catalog`);
  const catalog: GeneratedProduct[] = generateCatalog({ products: args.products, options: args.options, units: args.units, seed: args.seed });
  const databaseUrl = await recreateDatabase(args.database);
  const supplier: TestSupplier = await startTestSupplier();
  const db = createDb({ databaseUrl, secretsKey: 'bench-secrets-key', poolSize: 2 });
  const redis = createRedis(BENCH_REDIS_URL, 'worker');
  const producer = new JobProducer({ connection: redis, prefix });
  let worker: WorkerProcess | undefined;
  try {
    const { integration } = await db.integrations.create({
      partnerId: 'bench-partner',
      baseUrl: supplier.url,
      authType: 'bearer',
      authKey: AUTH_KEY,
      handlesTicketDelivery: false,
      isApproved: true,
    });
    const setting = { databaseUrl, prefix, secretsKey: 'bench-secrets-key', supplierHostPort: supplier.hostPort };
    const workerEnv = (changeFeed: boolean): Record<string, string> =>
      benchWorkerEnv(setting, { CHANGE_FEED_ENABLED: String(changeFeed), OCTO_MAX_BODY_BYTES: String(256 * 1024 * 1024), WORKER_CONCURRENCY: '1' });
    const profile = args.cpuProf === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${args.cpuProf}`];
    worker = await startWorkerProcess(workerEnv(false), profile);
    let rss = new PeakRss(worker.pid);
    note(`worker pid ${worker.pid} started, RSS ${round(rss.current() / 2 ** 20, 1)} MiB`);

    const scenarios: Scenario[] = [];
    const timeScenario = async (integrationId: string, into: Scenario[], name: string, products: GeneratedProduct[], force = false): Promise<Scenario> => {
      supplier.setCatalog(products);
      const payloadBytes = Buffer.byteLength(JSON.stringify(products));
      // Let the worker's heap settle between scenarios, so each peak is its own.
      await new Promise((resolve) => setTimeout(resolve, 500));
      rss.reset();
      const probe = worker;
      if (probe === undefined) throw new Error(`scenario ${name}: no worker running`);
      await probe.loopDelay();
      const versions = await catalogRowVersions(db, integrationId);
      const started = process.hrtime.bigint();
      const { runId } = await db.runs.requestRun(integrationId, 'admin', { force });
      const job = await producer.enqueue(catalogSyncJob, { integrationId, runId });
      const outcome = await producer.waitFor(job, 30 * 60_000);
      const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      const peakRssBytes = rss.peak();
      const loopDelay = await probe.loopDelay();
      const finished = await db.runs.findRun(runId);
      if (outcome.state !== 'completed' || finished?.status === 'failed' || finished === null) {
        throw new Error(`scenario ${name}: run ${finished?.status ?? 'missing'} (${finished?.errorCode ?? outcome.state}: ${finished?.errorMessage ?? ''}) ${worker?.problems.join('\n') ?? ''}`);
      }
      const scenario: Scenario = {
        name,
        wallSeconds: round(wallSeconds),
        runSeconds: round((finished.durationMs ?? 0) / 1000),
        status: finished.status,
        ...rowsWrittenSince(versions, await catalogRowVersions(db, integrationId)),
        counts: finished.counts as RunCounts | null,
        peakRssBytes,
        payloadBytes,
        loopDelay,
      };
      note(
        `${name}: ${scenario.wallSeconds} s, ${scenario.rowsWritten} rows written (+${scenario.fingerprintRowsWritten} fingerprint rows), status ${scenario.status}, peak RSS ${round(peakRssBytes / 2 ** 20, 1)} MiB, ` +
          `event-loop delay p99 ${round(loopDelay.p99Ms, 1)} ms, max ${round(loopDelay.maxMs, 1)} ms`,
      );
      into.push(scenario);
      return scenario;
    };
    const run = (name: string, products: GeneratedProduct[], force = false) => timeScenario(integration.id, scenarios, name, products, force);

    // The change feed's cost: the same fresh and 1%-changed syncs with it off, on an integration of their own.
    const offIntegration = (await db.integrations.create({ partnerId: 'bench-no-feed', baseUrl: supplier.url, authType: 'bearer', authKey: AUTH_KEY, handlesTicketDelivery: false, isApproved: true })).integration;
    const offCatalog: GeneratedProduct[] = JSON.parse(JSON.stringify(catalog)) as GeneratedProduct[];
    const offScenarios: Scenario[] = [];
    await timeScenario(offIntegration.id, offScenarios, 'freshNoFeed', offCatalog);
    changeOnePercent(offCatalog);
    await timeScenario(offIntegration.id, offScenarios, 'changed1pctNoFeed', offCatalog);
    await worker.stop();
    worker = await startWorkerProcess(workerEnv(true), profile);
    rss = new PeakRss(worker.pid);

    const fresh = await run('fresh', catalog);
    const unchanged = await run('unchanged', catalog);

    const changedUnits = changeOnePercent(catalog);
    const changed = await run('changed1pct', catalog);

    // 10% of the products leave the catalog (every 10th); forced past the mass-removal guard.
    const remaining = catalog.filter((_p, i) => i % 10 !== 9);
    const removed = await run('removed10pct', remaining, true);

    note('three languages: fresh, unchanged, one language changed; one language with the same change');
    const newIntegration = async (partnerId: string) =>
      (await db.integrations.create({ partnerId, baseUrl: supplier.url, authType: 'bearer', authKey: AUTH_KEY, handlesTicketDelivery: false, isApproved: true })).integration.id;
    const languages = await languageScenarios(db, supplier, newIntegration, (id, name, products) => timeScenario(id, scenarios, name, products), catalog);

    await worker.stop();
    worker = undefined;

    // References on the same rows (the catalog as fresh sync saw it, minus the price edits: same shapes).
    note('mapping rows for the references');
    const rows: CatalogRows = { products: [], options: [], units: [] };
    const mapper = new CatalogMapper();
    for (const product of catalog) mapper.map(product, rows);
    const totalRows = rows.products.length + rows.options.length + rows.units.length;
    const { integration: naiveIntegration } = await db.integrations.create({
      partnerId: 'bench-naive',
      baseUrl: supplier.url,
      authType: 'bearer',
      authKey: AUTH_KEY,
      handlesTicketDelivery: false,
      isApproved: true,
    });
    const sliceProducts = new Set(rows.products.slice(0, args.naiveProducts).map((p) => p.octo_id));
    note(`naive: one Prisma upsert per row for ${sliceProducts.size} products`);
    const naive = await naiveUpserts(db, naiveIntegration.id, {
      products: rows.products.filter((p) => sliceProducts.has(p.octo_id)),
      options: rows.options.filter((o) => sliceProducts.has(o.product_octo_id)),
      units: rows.units.filter((u) => sliceProducts.has(u.product_octo_id)),
    });
    note(`naive: ${naive.rows} rows in ${round(naive.seconds)} s`);
    note(`floor: COPY of ${totalRows} rows into unindexed staging tables`);
    const floor = await copyFloor(databaseUrl, integration.id, rows);
    note(`floor: ${floor.rows} rows in ${round(floor.seconds)} s`);

    const freshRowsPerSecond = fresh.rowsWritten / fresh.wallSeconds;
    const naiveRowsPerSecond = naive.rows / naive.seconds;
    const peakRss = Math.max(...scenarios.map((s) => s.peakRssBytes));
    const allScenarios = [...offScenarios, ...scenarios];
    const worstLoopDelay = { p99: round(Math.max(...allScenarios.map((s) => s.loopDelay.p99Ms)), 1), max: round(Math.max(...allScenarios.map((s) => s.loopDelay.maxMs)), 1) };
    const ratios = {
      freshVsNaive: round(freshRowsPerSecond / naiveRowsPerSecond, 2),
      freshVsCopyFloor: round(fresh.wallSeconds / floor.seconds, 2),
      unchangedVsFresh: round(unchanged.wallSeconds / fresh.wallSeconds, 4),
      changed1pctVsFresh: round(changed.wallSeconds / fresh.wallSeconds, 4),
      peakRssVsPayload: round(peakRss / fresh.payloadBytes, 2),
      freshFeedOnVsOff: round(fresh.wallSeconds / offScenarios[0]!.wallSeconds, 3),
      changed1pctFeedOnVsOff: round(changed.wallSeconds / offScenarios[1]!.wallSeconds, 3),
      // The bound: one language's change ≤ 1.2 × (that change in one language + two unchanged skips).
      languagesOneChangedVsSingle: round(languages.changedOneLanguage / (languages.singleChanged + 2 * unchanged.wallSeconds), 3),
      languagesUnchangedVsFresh: round(languages.unchanged / languages.fresh, 4),
    };
    const removedProducts = catalog.length - remaining.length;
    // Job locks are renewed from the worker's event loop: a short lock needs a loop that never stalls long.
    const verdict = judge('sync', {
      ...ratios,
      unchangedRowsWritten: unchanged.rowsWritten,
      changed1pctRowsVsChanged: round(changed.rowsWritten / changedUnits, 4),
      removed10pctRowsVsRemoved: round(removed.rowsWritten / removedProducts, 4),
      eventLoopDelayP99Ms: worstLoopDelay.p99,
      eventLoopDelayMaxMs: worstLoopDelay.max,
    });
    const result = {
      bench: 'sync',
      catalog: { products: args.products, options: args.options, units: args.units, rows: totalRows, payloadBytes: fresh.payloadBytes },
      scenarios: Object.fromEntries(
        allScenarios.map((s) => [
          s.name,
          { wallSeconds: s.wallSeconds, runSeconds: s.runSeconds, status: s.status, rowsWritten: s.rowsWritten, fingerprintRowsWritten: s.fingerprintRowsWritten, peakRssBytes: s.peakRssBytes, eventLoopDelayMs: delayFigures(s.loopDelay), counts: s.counts },
        ]),
      ),
      expected: { changed1pctRows: changedUnits, removed10pctProducts: removedProducts },
      languages: languages,
      freshRowsPerSecond: Math.round(freshRowsPerSecond),
      naive: { rows: naive.rows, seconds: round(naive.seconds), rowsPerSecond: Math.round(naiveRowsPerSecond) },
      copyFloor: { rows: floor.rows, seconds: round(floor.seconds), rowsPerSecond: Math.round(floor.rows / floor.seconds) },
      peakRssBytes: peakRss,
      // Worst over every scenario; each is the delay beyond the probe's sampling interval.
      eventLoopDelayMs: { ...worstLoopDelay, resolution: fresh.loopDelay.resolutionMs },
      ratios,
      targets: verdict.met,
      missed: verdict.missed,
    };
    printResult(result, verdict, args.check);
  } finally {
    await worker?.stop();
    await producer.close();
    redis.disconnect();
    await db.close();
    await supplier.close();
    await clearPrefix(prefix);
    if (!args.keep) await dropBenchDatabase(args.database);
  }
}

/** 1% of the units get a new price (every 100th unit, deterministic); returns how many. */
function changeOnePercent(catalog: GeneratedProduct[]): number {
  let unitIndex = 0;
  let changedUnits = 0;
  for (const product of catalog) {
    for (const option of product.options) {
      for (const unit of option.units) {
        if (unitIndex++ % 100 !== 0) continue;
        const price = unit.pricingFrom[0];
        if (price === undefined) continue;
        price.retail += 100;
        price.original += 100;
        changedUnits += 1;
      }
    }
  }
  return changedUnits;
}

/** A scenario's event-loop delay as the JSON line shows it (ms, one decimal). */
function delayFigures(delay: LoopDelay): { p50: number; p99: number; max: number } {
  return { p50: round(delay.p50Ms, 1), p99: round(delay.p99Ms, 1), max: round(delay.maxMs, 1) };
}

/** The version (`xmin`) of each catalog row of an integration and of its products' fingerprints, by table and id: a row written since has a new one. */
async function catalogRowVersions(db: Db, integrationId: string): Promise<Map<string, string>> {
  const { rows } = await db.pool.query<{ k: string; x: string }>(
    `SELECT 'p' || p.id AS k, p.xmin::text AS x FROM products p WHERE p.integration_id = $1::uuid
     UNION ALL SELECT 'o' || o.id, o.xmin::text FROM product_options o JOIN products p ON p.id = o.product_id WHERE p.integration_id = $1::uuid
     UNION ALL SELECT 'u' || u.id, u.xmin::text FROM units u JOIN product_options o ON o.id = u.option_id JOIN products p ON p.id = o.product_id WHERE p.integration_id = $1::uuid
     UNION ALL SELECT 'f' || f.product_id, f.xmin::text FROM product_fingerprints f JOIN products p ON p.id = f.product_id WHERE p.integration_id = $1::uuid`,
    [integrationId],
  );
  return new Map(rows.map((r) => [r.k, r.x]));
}

/**
 * Catalog rows (products, options, units) and fingerprint rows created or rewritten between two
 * {@link catalogRowVersions} (a row locked but not written keeps its `xmin`).
 */
function rowsWrittenSince(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): { rowsWritten: number; fingerprintRowsWritten: number } {
  const written = { rowsWritten: 0, fingerprintRowsWritten: 0 };
  for (const [key, version] of after) {
    if (before.get(key) === version) continue;
    if (key.startsWith('f')) written.fingerprintRowsWritten += 1;
    else written.rowsWritten += 1;
  }
  return written;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:sync failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
