/**
 * `npm run bench:scale [-- --sizes 1000000,10000000 --runs 20]`
 *
 * How the cost of the hot paths grows with the data. One measured integration keeps the same
 * window at every size (`--products` × `--options` × `--days` × `--times` slots, stored by a real
 * pull); the rest of each size goes into other integrations and into history (the measured
 * integration's past and its far future, outside its window), and the feed grows with it (one
 * change event per stored slot). 1,000,000 catalog rows are loaded once. At each size, after a
 * warm-up and `VACUUM ANALYZE`, the median of `--runs` runs of: a pull of the window with 1% of it
 * changed and an unchanged pull (the real worker against the testkit's local OCTO supplier), a
 * notify batch of 500 changes answered once applied, a read-API page of 100 slots and a
 * change-feed page (the real gateway over HTTP), and one retention tick (`availability.partitions`,
 * run by the worker: the first of each size drops the months of a block of slots older than the
 * retention, the others find nothing to drop). `growth.<operation>` is the last size's median ÷ the first's.
 *
 * The data is loaded set-based (bench/lib/scale-load.ts) into a database of its own, dropped at
 * the end, on an error, on SIGINT/SIGTERM, and at the start if an interrupted run left it.
 * Progress goes to stderr; the last line on stdout is one JSON object with every figure.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import jwt from 'jsonwebtoken';
import { createDb, type Db, type Integration } from '@octo-sync/db';
import { createRedis, JobProducer } from '@octo-sync/jobs';
import { PullRequests } from '@octo-sync/runs';
import { clearPrefix, SlotCalendar, startService, startTestSupplier, type ServiceProcess, type TestSupplier } from '@octo-sync/testkit';
import { note, parseArgs, printResult, round } from './lib/args';
import { BENCH_REDIS_URL, dropBenchDatabase, recreateDatabase } from './lib/bench-db';
import { loadSize, placementsFrom, type LoadedSize } from './lib/scale-plan';
import { changeOnePercent, feedPage, notifyBatch, pullWindow, readPage, retentionTick, type ScaleTarget, type WindowOption } from './lib/scale-ops';
import { loadCatalog, newestPosition } from './lib/scale-load';
import { cpuSample, cpuUsed } from './lib/pull-measure';
import { cpuSeconds } from './lib/process-cpu';
import { judge } from './targets';

const args = parseArgs(process.argv.slice(2), {
  /** Slots stored at each size, ascending; growth is the last ÷ the first. */
  sizes: '1000000,10000000',
  runs: 20,
  products: 100,
  options: 2,
  days: 30,
  times: 4,
  catalogRows: 1_000_000,
  notifyBatch: 500,
  feedLimit: 1000,
  /** Days of history kept (AVAILABILITY_RETENTION_DAYS of the gateway and the worker). */
  retentionDays: 400,
  database: 'octo_sync_bench_scale',
  keep: false,
  check: false,
});

const SECRETS_KEY = 'bench-scale';
const JWT_SECRET = 'bench-scale-jwt-secret-0123456789';
const OPERATIONS = ['pull', 'unchangedPull', 'notify500', 'readPage', 'feedPage', 'retentionTick'] as const;
type Operation = (typeof OPERATIONS)[number];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function windowOptions(): WindowOption[] {
  return Array.from({ length: args.products * args.options }, (_v, i) => {
    const productId = `p${String(Math.floor(i / args.options) + 1).padStart(4, '0')}`;
    return { productId, optionId: `${productId}-o${(i % args.options) + 1}` };
  });
}

function timesOfDay(): string[] {
  return Array.from({ length: args.times }, (_v, i) => {
    const minutes = Math.floor((i * 24 * 60) / args.times);
    return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
  });
}

/** The processes whose CPU an operation is charged with: the worker, the gateway, and the bench database's Postgres backends. */
interface CpuProbe {
  db: Db;
  workerPid: number;
  gatewayPid: number;
}

/** An operation's figures: the median and every run in milliseconds, and the CPU it used per run. */
interface Measured {
  medianMs: number;
  runsMs: number[];
  /** CPU milliseconds per run of the worker + the gateway + Postgres: a busy machine stretches wall times, not this. */
  cpuMsPerRun: number;
}

/** `runs` runs of an operation, one after the other. */
async function measure(probe: CpuProbe, name: string, runs: number, run: (i: number) => Promise<number>): Promise<Measured> {
  const { db, workerPid, gatewayPid } = probe;
  const before = { sample: await cpuSample(db, workerPid), gateway: cpuSeconds(gatewayPid) };
  const runsMs: number[] = [];
  for (let i = 0; i < runs; i++) runsMs.push(round(await run(i), 1));
  const used = cpuUsed(before.sample, await cpuSample(db, workerPid));
  const cpuMsPerRun = round(((used.worker + used.postgres + cpuSeconds(gatewayPid) - before.gateway) * 1000) / runs, 1);
  const medianMs = round(median(runsMs), 1);
  note(`  ${name}: median ${medianMs} ms (min ${Math.min(...runsMs)}, max ${Math.max(...runsMs)}), CPU ${cpuMsPerRun} ms a run`);
  return { medianMs, runsMs, cpuMsPerRun };
}

/** Every operation at the current size; `sizeIndex` makes each size change other slots. */
async function measureAll(t: ScaleTarget, probe: CpuProbe, sizeIndex: number): Promise<Record<Operation, Measured> & { dropped: number[] }> {
  const base = sizeIndex * args.runs;
  await pullWindow(t); // puts back what the previous size's notifies changed
  const pull = await measure(probe, 'pull (1% changed)', args.runs, (i) => (changeOnePercent(t, base + i), pullWindow(t)));
  const unchangedPull = await measure(probe, 'unchanged pull', args.runs, () => pullWindow(t));
  const notify500 = await measure(probe, `notify batch of ${args.notifyBatch}`, args.runs, (i) => notifyBatch(t, base + i, args.notifyBatch));
  const readPageFigure = await measure(probe, 'read-API page', args.runs, (i) => readPage(t, i));
  await feedPage(t, 0n, 1).catch(() => 0); // a read runs the sequencer: every loaded header gets its positions
  const newest = await newestPosition(t.db.pool);
  const cursor = (i: number) => BigInt(Math.max(0, Math.min(Number(newest) - args.feedLimit, Math.floor((Number(newest) * (i + 0.5)) / args.runs))));
  const feed = await measure(probe, 'change-feed page', args.runs, (i) => feedPage(t, cursor(i), args.feedLimit));
  const dropped: number[] = [];
  const tick = await measure(probe, 'retention tick', args.runs, async () => {
    const { ms, dropped: n } = await retentionTick(t);
    dropped.push(n);
    return ms;
  });
  return { pull, unchangedPull, notify500, readPage: readPageFigure, feedPage: feed, retentionTick: tick, dropped };
}

interface Run {
  db: Db;
  supplier: TestSupplier;
  producer: JobProducer;
  redis: ReturnType<typeof createRedis>;
  processes: ServiceProcess[];
  prefix: string;
}

let cleanupOnce: Promise<void> | undefined;

/** Stops everything this run started and drops its database; once, whatever called it first. */
function cleanup(run: Partial<Run>): Promise<void> {
  cleanupOnce ??= (async () => {
    for (const p of run.processes ?? []) p.kill('SIGTERM');
    await Promise.all((run.processes ?? []).map((p) => p.exited));
    await run.producer?.close();
    run.redis?.disconnect();
    await run.db?.close();
    await run.supplier?.close();
    if (run.prefix !== undefined) await clearPrefix(run.prefix);
    if (!args.keep) await dropBenchDatabase(args.database);
  })();
  return cleanupOnce;
}

async function startServices(run: Run, databaseUrl: string): Promise<string> {
  const env = {
    DATABASE_URL: databaseUrl, REDIS_URL: BENCH_REDIS_URL, QUEUE_PREFIX: run.prefix, SECRETS_KEY, JWT_SECRET,
    OCTO_ALLOWED_HOSTS: run.supplier.hostPort, ALLOW_INSECURE_OCTO_URLS: 'true', SCHEDULES_ENABLED: 'false', NOTIFY_RATE_LIMIT: '100000000', NOTIFY_WAIT_MS: '60000',
    PORT: '0', LOG_LEVEL: 'info', AVAILABILITY_RETENTION_DAYS: String(args.retentionDays),
  };
  run.processes.push(...(await Promise.all([startService('gateway', env, 120_000), startService('worker', env, 120_000)])));
  const port = (await run.processes[0]!.waitForLog((l) => l.msg === 'gateway started')).port as number;
  for (const p of run.processes) p.child.stdout?.removeAllListeners('data').resume();
  return `http://127.0.0.1:${port}`;
}

/** `POST /availability` calls a pull makes at once: the worker's default PULL_REQUESTS_PER_SUPPLIER. */
const PULL_CALLS_AT_ONCE = 4;

async function createIntegration(db: Db, supplier: TestSupplier, partnerId: string): Promise<{ integration: Integration; webhookSecret: string }> {
  const created = await db.integrations.create({ partnerId, baseUrl: supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true });
  // The supplier's request budget is not what this bench measures (at its default rate a pull of
  // the window's options waited ~40 s on it at every size): a rate no pull reaches, and as many
  // calls at once as the pull makes, as bench:pull sets it.
  await db.pool.query('UPDATE integrations SET supplier_requests_per_second = 1000, supplier_concurrency = $2 WHERE id = $1::uuid', [created.integration.id, PULL_CALLS_AT_ONCE]);
  return created;
}

async function main(run: Run, databaseUrl: string): Promise<void> {
  const sizes = args.sizes.split(',').map(Number);
  const gatewayBase = await startServices(run, databaseUrl);
  const probe: CpuProbe = { db: run.db, gatewayPid: run.processes[0]!.child.pid!, workerPid: run.processes[1]!.child.pid! };
  const { integration, webhookSecret } = await createIntegration(run.db, run.supplier, 'bench-scale');
  const options = windowOptions();
  const from = new Date().toISOString().slice(0, 10);
  const products = [...new Set(options.map((o) => o.productId))].map((id) => ({ id, options: options.filter((o) => o.productId === id).map((o) => ({ id: o.optionId })) }));
  const calendar = SlotCalendar.generate({ products, start: from, days: args.days, times: timesOfDay(), offset: '+00:00' });
  run.supplier.setAvailability(calendar);
  await loadCatalog(run.db.pool, integration.id, { products: args.products, options: args.options, units: 1 });
  const sign = (role: string) => jwt.sign({ role, sub: 'bench-scale' }, JWT_SECRET, { algorithm: 'HS256', expiresIn: '12h' });
  const t: ScaleTarget = {
    db: run.db, producer: run.producer, pulls: new PullRequests(run.db, run.producer), integration, calendar, options, gatewayBase, webhookSecret,
    adminToken: sign('admin'), readerToken: sign('reader'), window: { from, days: args.days },
  };
  await pullWindow(t); // the window, stored by the real write path: what the loader copies
  const plan = placementsFrom({ db: run.db, measured: integration.id, window: { from, days: args.days }, retentionDays: args.retentionDays, newIntegration: async (n) => (await createIntegration(run.db, run.supplier, `bench-scale-${n}`)).integration.id });
  const loaded: LoadedSize[] = [];
  const figures: Array<Awaited<ReturnType<typeof measureAll>>> = [];
  const loadAverages: Array<[number, number]> = [];
  for (const [sizeIndex, size] of sizes.entries()) {
    loaded.push(await loadSize(plan, size, sizeIndex === 0 ? args.catalogRows : 0));
    note(`size ${size}: ${JSON.stringify(loaded.at(-1))}; measuring`);
    const loadBefore = loadavg()[0]!;
    figures.push(await measureAll(t, probe, sizeIndex));
    // The machine's 1-minute load average before and after the size's measurements: on a shared
    // machine a ratio of two sizes' medians is only as good as the load was even.
    loadAverages.push([round(loadBefore, 1), round(loadavg()[0]!, 1)]);
  }
  const growth = Object.fromEntries(OPERATIONS.map((op) => [op, round(figures.at(-1)![op].medianMs / figures[0]![op].medianMs, 2)])) as Record<Operation, number>;
  const cpuGrowth = Object.fromEntries(OPERATIONS.map((op) => [op, round(figures.at(-1)![op].cpuMsPerRun / figures[0]![op].cpuMsPerRun, 2)]));
  const verdict = judge('scale', Object.fromEntries(OPERATIONS.map((op) => [`growth.${op}`, growth[op]])) as never);
  const perSize = sizes.map((size, i) => ({ size, ...loaded[i], loadAverage: loadAverages[i], medianMs: Object.fromEntries(OPERATIONS.map((op) => [op, figures[i]![op].medianMs])), cpuMsPerRun: Object.fromEntries(OPERATIONS.map((op) => [op, figures[i]![op].cpuMsPerRun])), runsMs: Object.fromEntries(OPERATIONS.map((op) => [op, figures[i]![op].runsMs])), monthsDroppedPerTick: figures[i]!.dropped }));
  const shape = { windowSlots: args.products * args.options * args.days * args.times, runs: args.runs, notifyBatch: args.notifyBatch, feedLimit: args.feedLimit, retentionDays: args.retentionDays };
  printResult({ bench: 'scale', ...shape, sizes: perSize, growth, cpuGrowth, targets: verdict.met, missed: verdict.missed }, verdict, args.check);
}

async function start(): Promise<void> {
  const run: Partial<Run> = { processes: [] };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      note(`${signal}: dropping ${args.database}`);
      void cleanup(run).finally(() => process.exit(130));
    });
  }
  try {
    const databaseUrl = await recreateDatabase(args.database);
    run.supplier = await startTestSupplier();
    run.db = createDb({ databaseUrl, secretsKey: SECRETS_KEY, poolSize: 4 });
    run.redis = createRedis(BENCH_REDIS_URL, 'producer');
    run.prefix = `octo-bench:scale:${randomBytes(4).toString('hex')}`;
    run.producer = new JobProducer({ connection: run.redis, prefix: run.prefix });
    await main(run as Run, databaseUrl);
  } finally {
    await cleanup(run);
  }
}

start().catch((err: unknown) => {
  process.stderr.write(`bench:scale failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
