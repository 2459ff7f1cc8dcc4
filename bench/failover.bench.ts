/**
 * `npm run bench:failover`
 *
 * What an acknowledged notify can lose when a Redis Cluster master dies. A private cluster of three
 * masters with one replica each (127.0.0.1, no persistence, `--node-timeout` ms before a replica
 * takes over), the real gateway and one real worker on it, and `--clients` loops that each send
 * notifies one after another, every one for a new slot, half of them answered after apply (200:
 * the change is in Postgres) and half `Prefer: respond-async` (202: the job is in Redis). After
 * `--warmup` s the master holding the availability queue's slot is SIGKILLed; the load goes on for
 * `--after` s. Then every acknowledged change is looked for in Postgres once the queue is drained.
 * The last line on stdout is one JSON object.
 */
import { createDb, type Db } from '@octo-sync/db';
import { createRedis, JobProducer } from '@octo-sync/jobs';
import { generateCatalog, slotStart, startRedisCluster, startService, startTestSupplier, waitFor, type ServiceProcess, type TestRedisCluster } from '@octo-sync/testkit';
import { note, parseArgs, printResult } from './lib/args';
import { dropBenchDatabase, recreateDatabase } from './lib/bench-db';
import { judge } from './targets';

const args = parseArgs(process.argv.slice(2), {
  clients: 16,
  warmup: 3,
  after: 20,
  nodeTimeout: 5_000,
  database: 'octo_sync_bench_failover',
  keep: false,
  /** Exit non-zero when a target (bench/targets.ts) is missed. */
  check: false,
});
const PREFIX = '{octo-sync}';
/** How long a service may take to exit after SIGTERM before the bench reports it and SIGKILLs it. */
const STOP_DEADLINE_MS = 60_000;

interface Sent {
  slot: string;
  mode: 'apply' | 'async';
  status: number;
  at: number;
}

/** The answer's status, or -1 when the gateway did not answer at all (not acknowledged). */
async function post(url: string, headers: Record<string, string>, body: string): Promise<number> {
  try {
    const res = await fetch(url, { method: 'POST', headers, body });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return -1;
  }
}

/** One client: notifies for new slots, one at a time, until `until()` says stop. */
async function client(n: number, url: string, secret: string, sent: Sent[], stop: () => boolean): Promise<void> {
  for (let i = 0; !stop(); i++) {
    const mode = (n + i) % 2 === 0 ? 'apply' : 'async';
    const slot = `c${n}-${i}`;
    const body = JSON.stringify({ productId: 'p', optionId: 'DEFAULT', availabilityId: slot, localDateTimeStart: slotStart(30, '10:00', '+02:00'), status: 'AVAILABLE', vacancies: 5, capacity: 9 });
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-webhook-secret': secret, ...(mode === 'async' ? { prefer: 'respond-async' } : {}) };
    sent.push({ slot, mode, status: await post(url, headers, body), at: Date.now() });
  }
}

async function setUp(db: Db, supplierUrl: string): Promise<{ integrationId: string; secret: string }> {
  const { integration, webhookSecret } = await db.integrations.create({ partnerId: 'bench', baseUrl: supplierUrl, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true });
  const product = await db.prisma.product.create({ data: { integrationId: integration.id, octoId: 'p', raw: {}, contentHash: 'x' } });
  await db.prisma.productOption.create({ data: { productId: product.id, octoId: 'DEFAULT', raw: {}, contentHash: 'x' } });
  return { integrationId: integration.id, secret: webhookSecret };
}

/** Runs the load, kills the master at `warmup` s, and returns every answer. */
async function loadAndKill(cluster: TestRedisCluster, url: string, secret: string): Promise<{ sent: Sent[]; killedAt: number; killed: string }> {
  const sent: Sent[] = [];
  let stopped = false;
  const clients = Array.from({ length: args.clients }, (_, n) => client(n, url, secret, sent, () => stopped));
  await new Promise((resolve) => setTimeout(resolve, args.warmup * 1000));
  // The availability queue's keys all hash to its tag's slot.
  const killed = await cluster.masterOf(`${PREFIX.slice(0, -1)}:availability}`);
  cluster.processOf(killed).kill('SIGKILL');
  const killedAt = Date.now();
  note(`killed master ${killed} (availability queue) after ${sent.length} answers`);
  await new Promise((resolve) => setTimeout(resolve, args.after * 1000));
  stopped = true;
  await Promise.all(clients);
  return { sent, killedAt, killed };
}

function summarise(sent: Sent[], applied: ReadonlySet<string>, killedAt: number) {
  const acked = sent.filter((s) => s.status >= 200 && s.status < 300);
  const lost = acked.filter((s) => !applied.has(s.slot));
  const failedAfterKill = sent.filter((s) => s.at >= killedAt && (s.status < 200 || s.status >= 300));
  const byMode = (mode: Sent['mode']) => ({
    acknowledged: acked.filter((s) => s.mode === mode).length,
    lost: lost.filter((s) => s.mode === mode).length,
    lostSlots: lost.filter((s) => s.mode === mode).slice(0, 20).map((s) => ({ slot: s.slot, msAfterKill: s.at - killedAt })),
  });
  const statuses: Record<string, number> = {};
  for (const s of sent) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  return {
    requests: sent.length,
    statuses,
    apply: byMode('apply'),
    async: byMode('async'),
    refusedAfterKill: failedAfterKill.length,
    // From the kill to the last refused answer: how long notifies were not acknowledged.
    unavailableMs: failedAfterKill.length === 0 ? 0 : Math.max(...failedAfterKill.map((s) => s.at)) - killedAt,
    appliedNotAcknowledged: sent.filter((s) => (s.status < 200 || s.status >= 300) && applied.has(s.slot)).length,
  };
}

/** What killed the gateway, if it died: how it exited and the error line Node printed. */
function crashOf(gateway: ServiceProcess): { code: number | null; signal: string | null; error: string } | null {
  const { exitCode: code, signalCode: signal } = gateway.child;
  if (code === null && signal === null) return null;
  const tail = gateway.stderrTail();
  return { code, signal, error: /^\w*Error\b.*$/m.exec(tail)?.[0] ?? tail.slice(-600) };
}

/**
 * SIGTERMs the services and names those (`gateway`, `worker`) still running a minute later, which
 * are then SIGKILLed: a process that does not exit after a failover is a finding, not a hang.
 */
async function stop(processes: readonly ServiceProcess[]): Promise<string[]> {
  const hung: string[] = [];
  await Promise.all(
    processes.map(async (p, i) => {
      p.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const exited = await Promise.race([p.exited.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), STOP_DEADLINE_MS)))]);
      clearTimeout(timer);
      if (exited) return;
      hung.push(i === 0 ? 'gateway' : 'worker');
      p.kill('SIGKILL');
      await p.exited;
    }),
  );
  return hung;
}

/** A warning or error line of the gateway, short: its message and its error's. */
function errorLine(line: Record<string, unknown>): string {
  const err = line.err as { message?: unknown } | undefined;
  return `${String(line.msg)}: ${typeof err?.message === 'string' ? err.message : ''}`.slice(0, 160);
}

async function main(): Promise<void> {
  const databaseUrl = await recreateDatabase(args.database);
  const cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: args.nodeTimeout });
  const supplier = await startTestSupplier({ catalog: generateCatalog({ products: 1, options: 1, units: 1 }) });
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_CLUSTER_NODES: cluster.env,
    QUEUE_PREFIX: PREFIX,
    SECRETS_KEY: 'bench-failover',
    JWT_SECRET: 'bench-failover-jwt-secret-0123456789',
    OCTO_ALLOWED_HOSTS: supplier.hostPort,
    ALLOW_INSECURE_OCTO_URLS: 'true',
    SCHEDULES_ENABLED: 'false',
    NOTIFY_RATE_LIMIT: '100000000',
    PORT: '0',
    LOG_LEVEL: 'info',
  };
  const db: Db = createDb({ databaseUrl, secretsKey: env.SECRETS_KEY, poolSize: 2 });
  const redis = createRedis({ url: 'redis://127.0.0.1:6379', clusterNodes: cluster.nodes }, 'worker');
  const producer = new JobProducer({ connection: redis, prefix: PREFIX });
  const processes: ServiceProcess[] = [];
  try {
    processes.push(...(await Promise.all([startService('gateway', env), startService('worker', env)])));
    const port = (await processes[0]!.waitForLog((l) => l.msg === 'gateway started')).port as number;
    // The worker's output is drained unread; the gateway's errors say what a refused notify met.
    processes[1]!.child.stdout?.removeAllListeners('data').resume();
    const { integrationId, secret } = await setUp(db, supplier.url);
    const url = `http://127.0.0.1:${port}/api/v1/partner-integrations/${integrationId}/availability/notify`;
    const { sent, killedAt, killed } = await loadAndKill(cluster, url, secret);
    const queue = producer.queue('availability');
    await waitFor('the availability queue to drain', async () => {
      const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
      return Object.values(counts).every((n) => n === 0);
    }, { timeoutMs: 120_000, intervalMs: 200 });
    const rows = await db.prisma.availabilitySlot.findMany({ where: { integrationId }, select: { availabilityId: true } });
    const summary = summarise(sent, new Set(rows.map((r) => r.availabilityId)), killedAt);
    const gatewayErrors = [...new Set(processes[0]!.lines.filter((l) => Number(l.level) >= 40).map(errorLine))];
    const gatewayCrash = crashOf(processes[0]!);
    const hungOnShutdown = await stop(processes);
    const verdict = judge('failover', { acknowledgedLost: summary.apply.lost + summary.async.lost, gatewayCrashed: gatewayCrash !== null, hungOnShutdown: hungOnShutdown.length > 0 });
    const result = { bench: 'failover', clients: args.clients, nodeTimeoutMs: args.nodeTimeout, killed, ...summary, gatewayErrors, gatewayCrash, hungOnShutdown, targets: verdict.met, missed: verdict.missed };
    printResult(result, verdict, args.check);
  } finally {
    await stop(processes);
    await producer.close();
    redis.disconnect();
    await db.close();
    await supplier.close();
    await cluster.close();
    if (!args.keep) await dropBenchDatabase(args.database);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:failover failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
