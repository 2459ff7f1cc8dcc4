/**
 * `npm run bench:fleet -- [--concurrency 8]`
 *
 * A fleet of `--integrations` suppliers of `--products` products each, all served by one local
 * supplier process by path, every one triggered at once through the real path (the worker's
 * nightly fan-out handler with no spread: `SyncRequests`, one `catalog.sync` job per run) and
 * synced by `--workers` worker processes (`WORKER_CONCURRENCY` is the worker's default unless
 * `--concurrency` sets it). Beside it, two floors measured in the same run: the same catalogs
 * fetched and hashed by this one process with one Postgres round trip each and no queue (`floor`),
 * and the rows and events of the same catalogs (mapped beforehand) COPY'd into unindexed tables,
 * one transaction each (`rowFloor`). While the fleet runs, the CPU of every process that
 * takes part and pg_stat_activity are sampled, and Postgres's own counters (transactions, pg_class
 * inserts) are read before and after, so what bounds it is measured. Progress goes to stderr; the
 * last line on stdout is one JSON object.
 */
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { createDb, type Db } from '@octo-sync/db';
import { createRedis, JobProducer, type JobContext } from '@octo-sync/jobs';
import { createLogger } from '@octo-sync/platform';
import { SyncRequests } from '@octo-sync/runs';
import { clearPrefix } from '@octo-sync/testkit';
import { createNightlyHandler } from '@octo-sync/worker/src/schedules/nightly.handler';
import { note, parseArgs, printResult, round } from './lib/args';
import { BENCH_REDIS_URL, dropBenchDatabase, recreateDatabase } from './lib/bench-db';
import { fleetFloor, type FleetMember } from './lib/fleet-floor';
import { fleetRowFloor } from './lib/fleet-row-floor';
import { FleetMonitor, type FleetUsage } from './lib/fleet-monitor';
import { serveFleet, startFleetSupplier, type FleetSupplierProcess } from './lib/fleet-supplier';
import { benchWorkerEnv, startWorkerProcess, type WorkerProcess } from './lib/worker-process';
import { judge } from './targets';

const args = parseArgs(process.argv.slice(2), {
  integrations: 2_000,
  products: 20,
  workers: 2,
  /** `WORKER_CONCURRENCY` of each worker; 0 leaves the worker's default. */
  concurrency: 0,
  /** PGOPTIONS of the workers' Postgres sessions (e.g. `-c jit=off`), to test a diagnosis. */
  pgOptions: '',
  /** Catalogs the floor fetches at once. */
  floorConcurrency: 16,
  /** Longest wait for the fleet to finish. */
  timeoutS: 1_800,
  database: 'octo_sync_bench_fleet',
  keep: false,
  /** Write V8 CPU profiles of the workers to this folder (node --cpu-prof). */
  cpuProf: '',
  /** Internal: this process is the fleet supplier (started by the benchmark itself). */
  serveSupplier: false,
  /** Exit non-zero when a target (bench/targets.ts) is missed. */
  check: false,
});

const SECRETS_KEY = 'bench-fleet-secrets-key';

/** The fleet: one integration made through the store, cloned with each supplier's own base URL. */
async function seed(db: Db, supplierUrl: string, count: number): Promise<FleetMember[]> {
  const { integration } = await db.integrations.create({ partnerId: 'fleet-0', baseUrl: `${supplierUrl}/s/0`, authType: 'bearer', authKey: 'fleet-key', handlesTicketDelivery: false, isApproved: true });
  await db.pool.query(
    `INSERT INTO integrations
     SELECT (jsonb_populate_record(NULL::integrations, to_jsonb(i) || jsonb_build_object('id', gen_random_uuid(), 'partner_id', 'fleet-' || g, 'live_partner_id', 'fleet-' || g, 'base_url', $3::text || '/s/' || g))).*
     FROM integrations i, generate_series(1, $2::int) g WHERE i.id = $1::uuid`,
    [integration.id, count - 1, supplierUrl],
  );
  const { rows } = await db.pool.query<{ id: string; base_url: string }>('SELECT id, base_url FROM integrations ORDER BY partner_id');
  return rows.map((r) => ({ id: r.id, productsUrl: `${r.base_url}/products` }));
}

function workerEnv(databaseUrl: string, prefix: string, supplier: FleetSupplierProcess): Record<string, string> {
  return benchWorkerEnv(
    { databaseUrl, prefix, secretsKey: SECRETS_KEY, supplierHostPort: supplier.hostPort },
    { ...(args.concurrency > 0 ? { WORKER_CONCURRENCY: String(args.concurrency), DB_POOL_SIZE: String(Math.max(10, args.concurrency + 2)) } : {}), ...(args.pgOptions === '' ? {} : { PGOPTIONS: args.pgOptions }) },
  );
}

/** Every integration triggered at once: the nightly fan-out with no spread. */
async function triggerAll(db: Db, producer: JobProducer): Promise<number> {
  const handler = createNightlyHandler({ db, requests: new SyncRequests(db, producer), spreadMs: 0 });
  const tick = Date.now();
  const job = { id: `repeat:bench-fleet:${tick}`, timestamp: tick } as JobContext['job'];
  const result = await handler({}, { job, token: undefined, signal: undefined, log: createLogger({ name: 'bench-fleet', level: 'silent' }) });
  return result.requested;
}

async function waitForFleet(db: Db, count: number): Promise<void> {
  const deadline = Date.now() + args.timeoutS * 1000;
  let lastNote = 0;
  for (;;) {
    const { rows } = await db.pool.query<{ finished: number }>('SELECT count(*) FILTER (WHERE finished_at IS NOT NULL)::int AS finished FROM sync_runs');
    const finished = rows[0]!.finished;
    if (finished >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${finished} of ${count} runs finished within ${args.timeoutS} s`);
    if (Date.now() - lastNote > 5_000) {
      note(`${finished} of ${count} runs finished`);
      lastNote = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface RunRows {
  runs: number;
  integrationsRun: number;
  succeeded: number;
  notSucceeded: number;
  spanSeconds: number;
  p50Seconds: number;
  p99Seconds: number;
  runP50Seconds: number;
}

/** What the runs' rows say: throughput and latency from their own timestamps, and whether each integration synced exactly once. */
async function outcome(db: Db): Promise<RunRows & { products: number; integrationsWithProducts: number }> {
  const { rows } = await db.pool.query<RunRows>(`
    SELECT count(*)::int AS runs, count(DISTINCT integration_id)::int AS "integrationsRun",
      count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded, count(*) FILTER (WHERE status <> 'succeeded')::int AS "notSucceeded",
      extract(epoch FROM max(finished_at) - min(queued_at))::float8 AS "spanSeconds",
      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - queued_at))::float8 AS "p50Seconds",
      percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - queued_at))::float8 AS "p99Seconds",
      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at))::float8 AS "runP50Seconds"
    FROM sync_runs`);
  const products = await db.pool.query<{ products: number; integrations: number }>('SELECT count(*)::int AS products, count(DISTINCT integration_id)::int AS integrations FROM products WHERE removed_at IS NULL');
  return { ...rows[0]!, products: products.rows[0]!.products, integrationsWithProducts: products.rows[0]!.integrations };
}

async function runFleet(db: Db, databaseUrl: string, supplier: FleetSupplierProcess, members: readonly FleetMember[]) {
  const prefix = `octo-bench:fleet:${randomBytes(4).toString('hex')}`;
  const redis = createRedis(BENCH_REDIS_URL, 'worker');
  const producer = new JobProducer({ connection: redis, prefix });
  const workers: WorkerProcess[] = [];
  const monitorPool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const profile = args.cpuProf === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${args.cpuProf}`];
    for (let i = 0; i < args.workers; i++) workers.push(await startWorkerProcess(workerEnv(databaseUrl, prefix, supplier), profile));
    const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1] ?? 0);
    const monitor = new FleetMonitor({ workers: workers.map((w) => w.pid), supplier: [supplier.pid], redis: redisPid > 0 ? [redisPid] : [] }, monitorPool);
    await monitor.start(250);
    const requested = await triggerAll(db, producer);
    note(`${requested} runs requested at once; ${args.workers} workers syncing`);
    await waitForFleet(db, members.length);
    const usage = await monitor.stop();
    const counts = await producer.queue('catalog').getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed');
    const problems = workers.flatMap((w) => w.problems);
    return { requested, usage, jobs: counts, problems: problems.length, firstProblem: problems[0]?.slice(0, 500) ?? null, ...(await outcome(db)) };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await monitorPool.end();
    await producer.close();
    redis.disconnect();
    await clearPrefix(prefix);
  }
}

/** Postgres's counters for the bench database: committed and rolled-back transactions, and rows inserted into pg_class (tables made). */
async function postgresCounters(db: Db): Promise<{ transactions: number; pgClassInserts: number }> {
  const { rows } = await db.pool.query<{ transactions: number; inserts: number }>(
    `SELECT (SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database())::float8 AS transactions,
       (SELECT n_tup_ins FROM pg_stat_sys_tables WHERE relname = 'pg_class')::float8 AS inserts`,
  );
  return { transactions: rows[0]!.transactions, pgClassInserts: rows[0]!.inserts };
}

/** Milliseconds of CPU per run of each component that does a run's work. */
function cpuMsPerRun(usage: FleetUsage, runs: number): Record<string, number> {
  const ms = (name: string) => round(((usage.cpu[name]?.seconds ?? 0) * 1000) / Math.max(1, runs), 2);
  const parts = { worker: ms('workers'), postgres: ms('postgres'), redis: ms('redis') };
  return { ...parts, total: round(parts.worker + parts.postgres + parts.redis, 2) };
}

/** The component that used the most CPU, and whether the machine had any left. */
function boundOf(usage: FleetUsage): { largest: string; machineSaturated: boolean } {
  const [largest] = Object.entries(usage.cpu).sort((a, b) => b[1].cores - a[1].cores)[0] ?? ['none'];
  return { largest, machineSaturated: usage.machine.busyCores >= 0.9 * usage.machine.cores };
}

async function main(): Promise<void> {
  const databaseUrl = await recreateDatabase(args.database);
  const supplier = await startFleetSupplier(__filename, { suppliers: args.integrations, products: args.products });
  const db = createDb({ databaseUrl, secretsKey: SECRETS_KEY, poolSize: 4 });
  const floorPool = new Pool({ connectionString: databaseUrl, max: args.floorConcurrency });
  try {
    const members = await seed(db, supplier.url, args.integrations);
    note(`${members.length} integrations of ${args.products} products seeded; floor: fetch + hash + one round trip each, ${args.floorConcurrency} at a time`);
    const floorSeconds = await fleetFloor(floorPool, members, args.floorConcurrency);
    note(`floor: ${round(floorSeconds)} s (${Math.round(members.length / floorSeconds)} catalogs/s)`);
    const rowFloor = await fleetRowFloor(floorPool, members, args.floorConcurrency);
    note(`row floor: ${round(rowFloor.seconds)} s (${Math.round(members.length / rowFloor.seconds)} catalogs/s, ${rowFloor.rows} rows and as many events)`);
    const before = await postgresCounters(db);
    const fleet = await runFleet(db, databaseUrl, supplier, members);
    // Read once the workers are gone: a backend flushes its statistics when its session ends.
    const after = await postgresCounters(db);
    const runsPerSecond = fleet.succeeded / fleet.spanSeconds;
    const floorPerSecond = members.length / floorSeconds;
    const rowFloorPerSecond = members.length / rowFloor.seconds;
    const perRun = (n: number) => round(n / Math.max(1, fleet.runs), 3);
    const pgClassInsertsPerRun = perRun(after.pgClassInserts - before.pgClassInserts);
    const syncedOnce = fleet.runs === members.length && fleet.integrationsRun === members.length && fleet.succeeded === members.length && fleet.integrationsWithProducts === members.length && fleet.products === members.length * args.products;
    const advisoryLockWaits = fleet.usage.postgres.waits['Lock:advisory'] ?? 0;
    const rowFloorRatio = round(runsPerSecond / rowFloorPerSecond, 3);
    const verdict = judge('fleet', {
      runsVsFloor: round(runsPerSecond / floorPerSecond, 3),
      rowFloorRatio,
      syncedOnce,
      advisoryLockWaits,
      idleInTransaction: fleet.usage.postgres.idleInTransactionMean,
      pgClassInsertsPerRun,
    });
    const out = {
      bench: 'fleet',
      integrations: members.length,
      productsEach: args.products,
      workers: args.workers,
      concurrency: args.concurrency > 0 ? args.concurrency : 'default',
      pgOptions: args.pgOptions === '' ? null : args.pgOptions,
      runsPerSecond: round(runsPerSecond, 1),
      p50Seconds: round(fleet.p50Seconds, 3),
      p99Seconds: round(fleet.p99Seconds, 3),
      runP50Seconds: round(fleet.runP50Seconds, 4),
      floor: { seconds: round(floorSeconds), perSecond: round(floorPerSecond, 1), concurrency: args.floorConcurrency },
      ratio: round(runsPerSecond / floorPerSecond, 3),
      rowFloor: { seconds: round(rowFloor.seconds), perSecond: round(rowFloorPerSecond, 1), rows: rowFloor.rows, ratio: rowFloorRatio },
      cpuMsPerRun: cpuMsPerRun(fleet.usage, fleet.runs),
      postgresPerRun: { transactions: perRun(after.transactions - before.transactions), pgClassInserts: pgClassInsertsPerRun },
      targets: verdict.met,
      missed: verdict.missed,
      runs: { requested: fleet.requested, rows: fleet.runs, succeeded: fleet.succeeded, notSucceeded: fleet.notSucceeded, lost: members.length - fleet.succeeded, integrationsRun: fleet.integrationsRun, products: fleet.products, jobs: fleet.jobs },
      syncedOnce,
      bound: boundOf(fleet.usage),
      usage: { ...fleet.usage, postgres: { ...fleet.usage.postgres, pgClassInsertsPerRun } },
      workerProblems: fleet.problems,
      firstProblem: fleet.firstProblem,
    };
    printResult(out, verdict, args.check);
  } finally {
    await floorPool.end();
    await db.close();
    await supplier.stop();
    if (!args.keep) await dropBenchDatabase(args.database);
  }
}

if (args.serveSupplier) {
  serveFleet({ suppliers: args.integrations, products: args.products }).catch((err: unknown) => {
    process.stderr.write(`fleet supplier failed: ${String(err)}\n`);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:fleet failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
