/**
 * `npm run bench:pull -- --products 200 --options 2 --days 30 --times 4 --history 10`
 *
 * Drives the real availability pull: the worker process of `npm run start:worker` (the compiled
 * bundle) handles `availability.pull` jobs requested through `PullRequests`, and fetches
 * `POST /availability` over HTTP from the test supplier's slot calendar, on its own database and
 * Redis prefix. The products and options asked about are seeded with one statement each (the
 * catalog sync is bench:sync's). Scenarios, in one run: fresh (empty slot table), unchanged (the
 * same answers: must write no row), and 1% of the slots changed (each a different 1%); then
 * `--history` times as many slots as the window holds are stored outside the window (the days
 * before today and after the window) and the unchanged and 1%-changed pulls run again: a pull must
 * cost its window, not the history (`ratios.historyVsNoHistory`). Each measured pull runs three
 * times and the fastest is kept (the machine is shared). Rows written are counted from
 * the rows' `xmin` (a new row version), so a locked or skipped row does not count. Two floors,
 * each measured before and after the pulls, fetch the same answers through the worker's outbound
 * client, with no writes, in a child process of their own (the second of two passes timed):
 * `hash` (fetched and hashed: what an unchanged answer must cost at least) and `parse` (also
 * parsed and mapped). Each scenario also
 * reports the CPU seconds of the worker, its Postgres backends and the supplier (on a shared
 * machine the wall time includes waiting for a core). Progress goes to stderr; the last line on
 * stdout is one JSON object with every figure.
 */
import { randomBytes } from 'node:crypto';
import { createDb, pullSettingsOf, type Db, type Integration } from '@octo-sync/db';
import { createRedis, JobProducer } from '@octo-sync/jobs';
import { PullRequests } from '@octo-sync/runs';
import { clearPrefix, SlotCalendar, startTestSupplier, type CalendarOptions, type TestSupplier } from '@octo-sync/testkit';
import { note, parseArgs, printResult, round } from './lib/args';
import { BENCH_REDIS_URL, dropBenchDatabase, recreateDatabase } from './lib/bench-db';
import { measureFloor, type FloorResult, type FloorSpec } from './lib/pull-floor';
import { settleTable, storeHistory } from './lib/pull-history';
import { cpuSample, cpuUsed, eventCount, rowVersions, type CpuUse } from './lib/pull-measure';
import { benchWorkerEnv, startWorkerProcess, type WorkerProcess } from './lib/worker-process';
import { judge } from './targets';

const args = parseArgs(process.argv.slice(2), {
  products: 200,
  options: 2,
  days: 30,
  /** Slots per day, spread evenly from 00:00. */
  times: 4,
  /** Slots stored outside the pull window, as a multiple of the slots inside it. */
  history: 10,
  /** `POST /availability` requests in flight at once (the worker's PULL_REQUESTS_PER_SUPPLIER). */
  perSupplier: 4,
  database: 'octo_sync_bench_pull',
  keep: false,
  /** Write a V8 CPU profile of the worker to this folder (node --cpu-prof). */
  cpuProf: '',
  /** Exit non-zero when a target (bench/targets.ts) is missed. */
  check: false,
});

const AUTH_KEY = 'bench-supplier-key';
const SECRETS_KEY = 'bench-secrets-key';

interface Scenario {
  wallSeconds: number;
  /** CPU seconds used meanwhile by the worker, by its Postgres backends, and by this process (the test supplier). */
  cpuSeconds: CpuUse;
  runSeconds: number;
  slotsPerSecond: number;
  rowsWritten: number;
  events: number;
  counts: unknown;
}

interface Bench {
  db: Db;
  producer: JobProducer;
  pulls: PullRequests;
  integration: Integration;
  worker: WorkerProcess;
  slots: number;
}

type Catalog = CalendarOptions['products'];

/** The products and options the pulls ask about (`p0001`, `p0001-o1`, ...). */
function catalogOf(): Catalog {
  return Array.from({ length: args.products }, (_p, i) => {
    const id = `p${String(i + 1).padStart(4, '0')}`;
    return { id, options: Array.from({ length: args.options }, (_o, j) => ({ id: `${id}-o${j + 1}` })) };
  });
}

/**
 * Stores the catalog as a sync would leave it, as far as a pull reads it (active products in UTC,
 * so the calendar's dates are inside every product's window, and their active options): the
 * catalog sync is not what this bench measures.
 */
async function seedCatalog(db: Db, integrationId: string, catalog: Catalog): Promise<void> {
  const ids = catalog.map((p) => p.id);
  await db.pool.query(
    `INSERT INTO products (integration_id, octo_id, time_zone, raw, content_hash)
     SELECT $1::uuid, id, 'UTC', jsonb_build_object('id', id), 'bench' FROM unnest($2::text[]) AS id`,
    [integrationId, ids],
  );
  await db.pool.query(
    `INSERT INTO product_options (product_id, octo_id, raw, content_hash)
     SELECT p.id, o.option_id, jsonb_build_object('id', o.option_id), 'bench'
     FROM jsonb_to_recordset($2::jsonb) AS o(product_id text, option_id text)
     JOIN products p ON p.integration_id = $1::uuid AND p.octo_id = o.product_id`,
    [integrationId, JSON.stringify(catalog.flatMap((p) => p.options.map((o) => ({ product_id: p.id, option_id: o.id }))))],
  );
}

/** The calendar's times of day, `HH:MM`, spread evenly from 00:00. */
function timesOfDay(): string[] {
  const minutes = (i: number) => Math.floor((i * 24 * 60) / args.times);
  return Array.from({ length: args.times }, (_v, i) => `${String(Math.floor(minutes(i) / 60)).padStart(2, '0')}:${String(minutes(i) % 60).padStart(2, '0')}`);
}

function calendarOf(catalog: Catalog): SlotCalendar {
  const start = new Date().toISOString().slice(0, 10);
  return SlotCalendar.generate({ products: catalog, start, days: args.days, times: timesOfDay(), offset: '+00:00' });
}

/** Every 100th slot of the calendar, from the `offset`th, gets `vacancies` left (LIMITED); returns how many. */
function changeOnePercent(calendar: SlotCalendar, catalog: Catalog, offset: number, vacancies: number): number {
  let n = 0;
  let changed = 0;
  for (const product of catalog) {
    for (const option of product.options) {
      for (const slot of calendar.list(product.id, option.id)) {
        if (n++ % 100 !== offset) continue;
        calendar.update(product.id, option.id, slot.id, { status: 'LIMITED', vacancies });
        changed += 1;
      }
    }
  }
  return changed;
}

/** One pull through the worker, timed from the request to the job's completion. */
async function pull(b: Bench, name: string): Promise<Scenario> {
  const [before, eventsBefore] = [await rowVersions(b.db, b.integration.id), await eventCount(b.db, b.integration.id)];
  const cpuBefore = await cpuSample(b.db, b.worker.pid);
  const started = process.hrtime.bigint();
  const { runId, job } = await b.pulls.request(b.integration, 'admin');
  const outcome = await b.producer.waitFor(job, 30 * 60_000);
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = cpuUsed(cpuBefore, await cpuSample(b.db, b.worker.pid));
  const run = await b.db.runs.findRun(runId);
  if (outcome.state !== 'completed' || run?.status !== 'succeeded') {
    throw new Error(`pull ${name}: ${run?.status ?? outcome.state} (${run?.errorCode ?? ''}: ${run?.errorMessage ?? ''}) ${b.worker.problems.join('\n')}`);
  }
  const after = await rowVersions(b.db, b.integration.id);
  const rowsWritten = [...after].filter(([id, x]) => before.get(id) !== x).length;
  const scenario = {
    wallSeconds: round(wallSeconds),
    cpuSeconds: cpu,
    runSeconds: round((run.durationMs ?? 0) / 1000),
    slotsPerSecond: Math.round(b.slots / wallSeconds),
    rowsWritten,
    events: (await eventCount(b.db, b.integration.id)) - eventsBefore,
    counts: run.counts,
  };
  note(`${name}: ${scenario.wallSeconds} s, ${scenario.slotsPerSecond} slots/s, ${rowsWritten} rows written, ${scenario.events} events, CPU s ${JSON.stringify(cpu)}`);
  return scenario;
}

async function floor(b: Bench, spec: FloorSpec, label: string): Promise<FloorResult> {
  const result = await measureFloor(spec);
  if (spec.mode === 'parse' && result.slots !== b.slots) throw new Error(`floor ${label} parsed ${result.slots} slots, expected ${b.slots}`);
  if (result.digests !== spec.targets.length) throw new Error(`floor ${label} saw ${result.digests} distinct answers, expected ${spec.targets.length}`);
  note(`floor ${spec.mode} ${label}: ${round(result.seconds)} s, ${Math.round(b.slots / result.seconds)} slots/s, ${result.bytes} bytes, CPU ${round(result.cpuSeconds, 2)} s`);
  return result;
}

/** Both floors, `hash` and `parse`. */
async function floors(b: Bench, spec: Omit<FloorSpec, 'mode'>, label: string): Promise<Record<FloorSpec['mode'], FloorResult>> {
  return { hash: await floor(b, { ...spec, mode: 'hash' }, label), parse: await floor(b, { ...spec, mode: 'parse' }, label) };
}

/** Runs of each measured pull (unchanged, 1%-changed, with and without history); the fastest is kept. */
const RUNS = 3;

/** The faster of two runs of a scenario (a run slowed by a busy moment would flatter the ratio it is divided into, or spoil the one it divides). */
const faster = (a: Scenario, b: Scenario): Scenario => (a.wallSeconds <= b.wallSeconds ? a : b);

/** Pulls of the unchanged answers, `RUNS` times: the fastest. */
async function unchangedPulls(b: Bench, name: string): Promise<Scenario> {
  let best: Scenario | undefined;
  for (let i = 0; i < RUNS; i++) {
    const run = await pull(b, `${name} (${i + 1})`);
    best = best === undefined ? run : faster(best, run);
  }
  return best!;
}

/** 1%-changed pulls, `RUNS` times, each of a different 1% (the `first + 10 i`th of every 100 slots): the fastest. */
async function changedPulls(b: Bench, calendar: SlotCalendar, catalog: Catalog, first: number, name: string): Promise<{ best: Scenario; changedSlots: number }> {
  let best: Scenario | undefined;
  let changedSlots = 0;
  for (let i = 0; i < RUNS; i++) {
    changedSlots = changeOnePercent(calendar, catalog, first + i * 10, 1);
    const run = await pull(b, `${name} (${i + 1})`);
    best = best === undefined ? run : faster(best, run);
  }
  return { best: best!, changedSlots };
}

async function scenarios(b: Bench, spec: Omit<FloorSpec, 'mode'>, calendar: SlotCalendar, catalog: Catalog) {
  const floorBefore = await floors(b, spec, 'before');
  const fresh = await pull(b, 'fresh');
  await settleTable(b.db);
  const unchanged = await unchangedPulls(b, 'unchanged');
  const changed = await changedPulls(b, calendar, catalog, 0, 'changed1pct');
  const historySlots = await storeHistory(b.db, b.integration.id, { times: timesOfDay(), days: args.days * args.history, pastDays: 6, daysAhead: spec.daysAhead });
  note(`stored ${historySlots} slots outside the window`);
  const unchangedWithHistory = await unchangedPulls(b, 'unchangedWithHistory');
  const withHistory = await changedPulls(b, calendar, catalog, 5, 'changed1pctWithHistory');
  const floorAfter = await floors(b, spec, 'after');
  // The faster floor: a floor slowed by a busy moment would flatter the pull.
  const floorSeconds = (mode: FloorSpec['mode']) => Math.min(floorBefore[mode].seconds, floorAfter[mode].seconds);
  const ratios = {
    unchangedVsFresh: round(unchanged.wallSeconds / fresh.wallSeconds, 3),
    changed1pctVsFresh: round(changed.best.wallSeconds / fresh.wallSeconds, 3),
    freshVsFloor: round(fresh.wallSeconds / floorSeconds('parse'), 2),
    unchangedVsFloor: round(unchanged.wallSeconds / floorSeconds('hash'), 2),
    historyVsNoHistory: round(withHistory.best.wallSeconds / changed.best.wallSeconds, 2),
  };
  // The same ratio in CPU seconds of the worker and its Postgres backends: on a shared machine a
  // busy moment moves the wall time of one run, not the work it did.
  const workCpu = (s: Scenario) => s.cpuSeconds.worker + s.cpuSeconds.postgres;
  const cpuRatios = { historyVsNoHistory: round(workCpu(withHistory.best) / workCpu(changed.best), 2) };
  const verdict = judge('pull', {
    ...ratios,
    freshRowsVsSlots: round(fresh.rowsWritten / b.slots, 4),
    unchangedRowsWritten: unchanged.rowsWritten + unchanged.events,
    changed1pctRowsVsChanged: round(changed.best.rowsWritten / changed.changedSlots, 4),
  });
  const floorFigures = (mode: FloorSpec['mode']) => ({
    seconds: [round(floorBefore[mode].seconds), round(floorAfter[mode].seconds)],
    cpuSeconds: [round(floorBefore[mode].cpuSeconds, 2), round(floorAfter[mode].cpuSeconds, 2)],
    slotsPerSecond: Math.round(b.slots / floorSeconds(mode)),
  });
  return {
    scenarios: { fresh, unchanged, changed1pct: changed.best, unchangedWithHistory, changed1pctWithHistory: withHistory.best },
    expected: { changed1pctRows: changed.changedSlots, historySlots },
    floor: { hash: floorFigures('hash'), parse: floorFigures('parse'), answerBytes: floorBefore.hash.bytes },
    ratios,
    cpuRatios,
    verdict,
  };
}

function workerEnv(databaseUrl: string, prefix: string, supplier: TestSupplier): Record<string, string> {
  return benchWorkerEnv({ databaseUrl, prefix, secretsKey: SECRETS_KEY, supplierHostPort: supplier.hostPort }, { PULL_REQUESTS_PER_SUPPLIER: String(args.perSupplier) });
}

async function main(): Promise<void> {
  const prefix = `octo-bench:pull:${randomBytes(4).toString('hex')}`;
  const catalog = catalogOf();
  const calendar = calendarOf(catalog);
  const databaseUrl = await recreateDatabase(args.database);
  const supplier = await startTestSupplier();
  const db = createDb({ databaseUrl, secretsKey: SECRETS_KEY, poolSize: 2 });
  const redis = createRedis(BENCH_REDIS_URL, 'worker');
  const producer = new JobProducer({ connection: redis, prefix });
  let worker: WorkerProcess | undefined;
  try {
    const { integration } = await db.integrations.create({ partnerId: 'bench-pull', baseUrl: supplier.url, authType: 'bearer', authKey: AUTH_KEY, handlesTicketDelivery: false, isApproved: true });
    // The supplier's request budget is not what this bench measures (the floors do not spend it):
    // a rate no pull reaches, and as many calls at once as the pull makes.
    await db.pool.query('UPDATE integrations SET supplier_requests_per_second = 1000, supplier_concurrency = $2 WHERE id = $1::uuid', [integration.id, args.perSupplier]);
    const env = workerEnv(databaseUrl, prefix, supplier);
    worker = await startWorkerProcess(env, args.cpuProf === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${args.cpuProf}`]);
    await seedCatalog(db, integration.id, catalog);
    supplier.setAvailability(calendar);
    const slots = args.products * args.options * args.days * args.times;
    const bench: Bench = { db, producer, pulls: new PullRequests(db, producer), integration, worker, slots };
    note(`pulling ${slots} slots of ${args.products * args.options} options`);
    const targets = await db.pulls.targets(integration.id);
    const spec: Omit<FloorSpec, 'mode'> = { env, supplier: { baseUrl: supplier.url, authType: 'bearer', authKey: AUTH_KEY }, targets, daysAhead: pullSettingsOf(integration).daysAhead };
    const { verdict, ...measured } = await scenarios(bench, spec, calendar, catalog);
    const shape = { products: args.products, options: args.options, days: args.days, times: args.times, slots, perSupplier: args.perSupplier };
    printResult({ bench: 'pull', ...shape, ...measured, targets: verdict.met, missed: verdict.missed }, verdict, args.check);
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

main().catch((err: unknown) => {
  process.stderr.write(`bench:pull failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
