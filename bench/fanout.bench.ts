/**
 * `npm run bench:fanout`
 *
 * The nightly fan-out for `--integrations` eligible integrations (the worker's `catalog.nightly`
 * handler, run in this process on a local Redis), beside a floor measured in the same run: one
 * `INSERT … SELECT` of as many run rows plus one `addBulk` of as many jobs. Each is measured
 * `--rounds` times, alternately, from an empty `sync_runs` and empty queues; the medians are
 * compared. After the last fan-out the same tick is run again (a retry): it must request nothing.
 * The last line on stdout is one JSON object.
 */
import { createDb, type Db } from '@octo-sync/db';
import { catalogSyncJob, createRedis, JobProducer, type JobContext } from '@octo-sync/jobs';
import { createLogger } from '@octo-sync/platform';
import { SyncRequests } from '@octo-sync/runs';
import { clearPrefix, uniquePrefix } from '@octo-sync/testkit';
import { spreadDelay } from '@octo-sync/worker/src/schedules/cron';
import { createNightlyHandler, type NightlyResult } from '@octo-sync/worker/src/schedules/nightly.handler';
import { note, parseArgs, printResult, round } from './lib/args';
import { BENCH_REDIS_URL, dropBenchDatabase, recreateDatabase } from './lib/bench-db';
import { judge } from './targets';

const args = parseArgs(process.argv.slice(2), { integrations: 10_000, rounds: 3, spreadMs: 600_000, database: 'octo_sync_bench_fanout', keep: false, check: false });
const log = createLogger({ name: 'bench-fanout', level: 'silent' });

/** `count` integrations like one made through the store (the floor and the fan-out read the same rows). */
async function seed(db: Db, count: number): Promise<void> {
  const { integration } = await db.integrations.create({ partnerId: 'bench-0', baseUrl: 'http://127.0.0.1:9/', authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true });
  await db.pool.query(
    `INSERT INTO integrations
     SELECT (jsonb_populate_record(NULL::integrations, to_jsonb(i) || jsonb_build_object('id', gen_random_uuid(), 'partner_id', 'bench-' || g, 'live_partner_id', 'bench-' || g))).*
     FROM integrations i, generate_series(1, $2::int) g WHERE i.id = $1::uuid`,
    [integration.id, count - 1],
  );
}

async function reset(db: Db, producer: JobProducer): Promise<void> {
  await db.pool.query('TRUNCATE sync_runs');
  await producer.queue('catalog').obliterate({ force: true });
}

/** The floor: every run row in one statement, every job in one round trip. */
async function floor(db: Db, producer: JobProducer, tick: Date): Promise<number> {
  const started = performance.now();
  const { rows } = await db.pool.query<{ id: string; integration_id: string }>(
    `INSERT INTO sync_runs (integration_id, trigger, kind, schedule_tick)
     SELECT id, 'schedule', 'catalog', $1 FROM integrations
     WHERE is_approved AND is_active AND deleted_at IS NULL AND health_status <> 'DOWN' ORDER BY id
     RETURNING id, integration_id`,
    [tick],
  );
  await producer.enqueueMany(
    catalogSyncJob,
    rows.map((r, i) => ({ payload: { integrationId: r.integration_id, runId: r.id }, overrides: { delay: spreadDelay(i, rows.length, args.spreadMs) } })),
  );
  return performance.now() - started;
}

async function fanout(db: Db, producer: JobProducer, tick: Date): Promise<{ ms: number; result: NightlyResult }> {
  const handler = createNightlyHandler({ db, requests: new SyncRequests(db, producer), spreadMs: args.spreadMs });
  const job = { id: `repeat:bench-nightly:${tick.getTime()}`, timestamp: tick.getTime() } as JobContext['job'];
  const started = performance.now();
  const result = await handler({}, { job, token: undefined, signal: undefined, log } satisfies JobContext);
  return { ms: performance.now() - started, result };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** What the last fan-out left: one run and one job per integration, spread over the window. */
async function check(db: Db, producer: JobProducer): Promise<{ runs: number; integrationsWithRun: number; jobs: number; maxDelayMs: number }> {
  const { rows } = await db.pool.query<{ runs: number; integrations: number }>('SELECT count(*)::int AS runs, count(DISTINCT integration_id)::int AS integrations FROM sync_runs');
  const counts = await producer.queue('catalog').getJobCounts('delayed', 'waiting');
  const delayed = await producer.queue('catalog').getDelayed(0, -1);
  return { runs: rows[0]!.runs, integrationsWithRun: rows[0]!.integrations, jobs: (counts.delayed ?? 0) + (counts.waiting ?? 0), maxDelayMs: Math.max(0, ...delayed.map((j) => j.opts.delay ?? 0)) };
}

async function measure(db: Db, producer: JobProducer) {
  const floors: number[] = [];
  const fanouts: number[] = [];
  let last: { tick: Date; result: NightlyResult } | undefined;
  for (let round = 0; round < args.rounds; round++) {
    const tick = new Date(Date.now() - 1_000);
    await reset(db, producer);
    floors.push(await floor(db, producer, tick));
    await reset(db, producer);
    const { ms, result } = await fanout(db, producer, tick);
    fanouts.push(ms);
    last = { tick, result };
    note(`round ${round + 1}: floor ${Math.round(floors.at(-1)!)} ms, fan-out ${Math.round(ms)} ms`);
  }
  const left = await check(db, producer);
  const retry = await fanout(db, producer, last!.tick);
  return { floors, fanouts, last: last!.result, left, retry };
}

async function main(): Promise<void> {
  const databaseUrl = await recreateDatabase(args.database);
  const db = createDb({ databaseUrl, secretsKey: 'bench-fanout', poolSize: 4 });
  const redis = createRedis(BENCH_REDIS_URL, 'worker');
  const prefix = uniquePrefix('bench-fanout');
  const producer = new JobProducer({ connection: redis, prefix });
  try {
    await seed(db, args.integrations);
    note(`${args.integrations} integrations seeded`);
    const { floors, fanouts, last, left, retry } = await measure(db, producer);
    const [floorMs, fanoutMs] = [median(floors), median(fanouts)];
    const exactlyOnce = last.requested === args.integrations && left.runs === args.integrations && left.integrationsWithRun === args.integrations && left.jobs === args.integrations && retry.result.requested === 0;
    const ratio = round(fanoutMs / floorMs, 2);
    const verdict = judge('fanout', { fanoutVsFloor: ratio, exactlyOnce });
    const out = { bench: 'fanout', integrations: args.integrations, rounds: args.rounds, floorMs: round(floorMs, 1), fanoutMs: round(fanoutMs, 1), ratio, retryMs: round(retry.ms, 1), retry: retry.result, ...left, spreadMs: args.spreadMs, exactlyOnce, targets: verdict.met, missed: verdict.missed };
    printResult(out, verdict, args.check);
  } finally {
    await producer.close();
    redis.disconnect();
    await db.close();
    await clearPrefix(prefix);
    if (!args.keep) await dropBenchDatabase(args.database);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:fanout failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
