/**
 * `npm run bench:notify`
 *
 * The availability webhook end to end: the real gateway and one real worker as separate
 * processes, each on its own database and Redis prefix, driven over HTTP by autocannon (a child
 * process, 127.0.0.1 only, bounded in time) at increasing concurrency, in both answer modes:
 * answer-after-apply (the default: the 200 means the change is in Postgres) and
 * `Prefer: respond-async` (202 once queued). Every request reports a new slot, so the rows in
 * `availability_slots` count the changes applied. Per step: acknowledged changes/s, answer
 * latency p50/p99, applied changes/s from the first request until the last change was in
 * Postgres, and the backlog left when the load stopped. Then the poison phase (bench/lib/notify-poison.ts):
 * a neighbour's p50 alone and while another tenant floods unstorable times (`poisonNeighbourP50Ratio`).
 * Then the tracing phase (bench/lib/notify-tracing.ts): changes/s with tracing off, on at the
 * default ratio (`tracedDefaultVsOff`) and with every request traced, exporting to a local sink.
 * Then the undated phase (bench/lib/notify-undated.ts): a batch of changes without a start (each
 * finds its row's partition through slot_ids) against the same batch with starts (`undatedVsDated`).
 * The last line on stdout is one JSON object.
 */
import { createDb, type Db } from '@octo-sync/db';
import { createRedis, JobProducer } from '@octo-sync/jobs';
import { generateCatalog, slotStart, startService, startTestSupplier, uniquePrefix, waitFor, clearPrefix, type ServiceProcess } from '@octo-sync/testkit';
import { note, parseArgs, printResult, round } from './lib/args';
import { BENCH_REDIS_URL, dropBenchDatabase, recreateDatabase } from './lib/bench-db';
import { runLoad } from './lib/load';
import { measurePoison } from './lib/notify-poison';
import { measureTracingCost } from './lib/notify-tracing';
import { measureUndatedCost } from './lib/notify-undated';
import { judge } from './targets';

const args = parseArgs(process.argv.slice(2), {
  connections: '8,32,128',
  duration: 8,
  database: 'octo_sync_bench_notify',
  keep: false,
  /** Rounds of the tracing phase (each loads off, default ratio and every request for --duration). */
  tracingRounds: 5,
  /** Exit non-zero when a target (bench/targets.ts) is missed. */
  check: false,
});

interface Step {
  mode: 'apply' | 'async';
  connections: number;
  acknowledgedPerS: number;
  p50Ms: number;
  p99Ms: number;
  appliedPerS: number;
  backlogAtEnd: number;
  non2xx: number;
}

async function main(): Promise<void> {
  const databaseUrl = await recreateDatabase(args.database);
  const prefix = uniquePrefix('bench-notify');
  const supplier = await startTestSupplier({ catalog: generateCatalog({ products: 1, options: 1, units: 1 }) });
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: BENCH_REDIS_URL,
    QUEUE_PREFIX: prefix,
    SECRETS_KEY: 'bench-notify',
    JWT_SECRET: 'bench-notify-jwt-secret-0123456789',
    OCTO_ALLOWED_HOSTS: supplier.hostPort,
    ALLOW_INSECURE_OCTO_URLS: 'true',
    SCHEDULES_ENABLED: 'false',
    NOTIFY_RATE_LIMIT: '100000000',
    NOTIFY_WAIT_MS: '10000',
    PORT: '0',
    LOG_LEVEL: 'info',
  };
  const db: Db = createDb({ databaseUrl, secretsKey: env.SECRETS_KEY, poolSize: 2 });
  const redis = createRedis(BENCH_REDIS_URL, 'producer');
  const producer = new JobProducer({ connection: redis, prefix });
  const queue = producer.queue('availability');
  const processes: ServiceProcess[] = [];
  try {
    // Logging at info, as in production; once started, their output is drained without parsing
    // so that this process does not compete for the two cores with what it measures.
    processes.push(...(await Promise.all([startService('gateway', env), startService('worker', env)])));
    const port = (await processes[0]!.waitForLog((l) => l.msg === 'gateway started')).port as number;
    for (const p of processes) p.child.stdout?.removeAllListeners('data').resume();
    const { integration, webhookSecret } = await db.integrations.create({
      partnerId: 'bench', baseUrl: supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true,
    });
    const product = await db.prisma.product.create({ data: { integrationId: integration.id, octoId: 'p', raw: {}, contentHash: 'x' } });
    await db.prisma.productOption.create({ data: { productId: product.id, octoId: 'DEFAULT', raw: {}, contentHash: 'x' } });
    const url = `http://127.0.0.1:${port}/api/v1/partner-integrations/${integration.id}/availability/notify`;
    const body = JSON.stringify({
      productId: 'p', optionId: 'DEFAULT', availabilityId: '[<id>]', localDateTimeStart: slotStart(30, '10:00', '+02:00'), status: 'AVAILABLE', vacancies: 5, capacity: 9,
    });
    const rows = () => db.prisma.availabilitySlot.count({ where: { integrationId: integration.id } });

    const steps: Step[] = [];
    for (const mode of ['apply', 'async'] as const) {
      for (const connections of String(args.connections).split(',').map(Number)) {
        const before = await rows();
        const started = Date.now();
        const headers: Record<string, string> = { 'content-type': 'application/json', 'x-webhook-secret': webhookSecret };
        if (mode === 'async') headers.prefer = 'respond-async';
        const load = await runLoad({ url, method: 'POST', headers, body, idReplacement: true, connections, durationS: args.duration });
        const loadEnded = Date.now();
        const acknowledged = Object.entries(load.statuses).filter(([s]) => s.startsWith('2')).reduce((n, [, c]) => n + c, 0);
        // Jobs not yet applied when the load stopped: with answer-after-apply it stays near zero.
        const waiting = await queue.getJobCounts('wait', 'active', 'delayed');
        const backlogAtEnd = (waiting.wait ?? 0) + (waiting.active ?? 0) + (waiting.delayed ?? 0);
        await waitFor('every acknowledged change to be applied', async () => (await queue.getJobCounts('wait', 'active', 'delayed')).wait === 0 && (await rows()) >= before + acknowledged, { timeoutMs: 120_000, intervalMs: 50 });
        const applied = (await rows()) - before;
        const step: Step = {
          mode,
          connections,
          acknowledgedPerS: round(acknowledged / args.duration, 0),
          p50Ms: load.latencyP50Ms,
          p99Ms: load.latencyP99Ms,
          appliedPerS: round(applied / ((Date.now() - started) / 1000), 0),
          backlogAtEnd,
          non2xx: load.requests - acknowledged,
        };
        note(`${mode} c=${connections}: ${JSON.stringify(step)} (load ${loadEnded - started} ms)`);
        steps.push(step);
      }
    }
    const applyMode = steps.filter((s) => s.mode === 'apply');
    // Answer-after-apply holds at most one change per connection in flight, so the backlog cannot grow.
    const sustainedAppliedPerS = Math.max(...applyMode.filter((s) => s.non2xx === 0).map((s) => s.appliedPerS));
    const poison = await measurePoison({ db, producer, supplierUrl: supplier.url, gatewayBase: `http://127.0.0.1:${port}`, durationS: args.duration });
    note(`poison: ${JSON.stringify(poison)}`);
    const poisonNeighbourP50Ratio = round(poison.neighbourP50Ms.flood / Math.max(1, poison.neighbourP50Ms.baseline), 2);
    const tracing = await measureTracingCost({ env, db, supplierUrl: supplier.url, connections: 32, durationS: args.duration, rounds: args.tracingRounds });
    note(`tracing: ${JSON.stringify(tracing)}`);
    const { defaultRatio: tracedDefaultVsOff, everyRequest: tracedEveryVsOff } = tracing.vsOff;
    // The same cost as CPU per change, which the machine's other load does not move.
    const tracedCpuVsOff = { defaultRatio: round(tracing.cpuMsPerChange.defaultRatio / tracing.cpuMsPerChange.off), everyRequest: round(tracing.cpuMsPerChange.everyRequest / tracing.cpuMsPerChange.off) };
    const undated = await measureUndatedCost(db, integration.id, { slots: 5_000, batch: 500, rounds: 9 });
    note(`undated: ${JSON.stringify(undated)}`);
    const verdict = judge('notify', { sustainedAppliedPerS, applyBacklogAtEnd: Math.max(...applyMode.map((s) => s.backlogAtEnd)), poisonNeighbourP50Ratio, tracedDefaultVsOff });
    const result = { bench: 'notify', steps, sustainedAppliedPerS, ceilingAppliedPerS: Math.max(...steps.map((s) => s.appliedPerS)), poison, poisonNeighbourP50Ratio, tracing, tracedDefaultVsOff, tracedEveryVsOff, tracedCpuVsOff, undated, undatedVsDated: undated.undatedVsDated, targets: verdict.met, missed: verdict.missed };
    printResult(result, verdict, args.check);
  } finally {
    for (const p of processes) p.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
    await producer.close();
    redis.disconnect();
    await db.close();
    await supplier.close();
    await clearPrefix(prefix);
    if (!args.keep) await dropBenchDatabase(args.database);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:notify failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
