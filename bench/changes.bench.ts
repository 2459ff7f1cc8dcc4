/**
 * `npm run bench:changes`
 *
 * The change feed as a consumer sees it, through the real gateway (and, for the delay, one real
 * worker) as separate processes on their own database and Redis prefix, 127.0.0.1 only:
 * - read: `--events` events (1,000,000 by default) are put in the outbox with one statement, then
 *   one consumer follows `GET /api/v1/changes` page by page (`--limit` per page) with its cursor
 *   from the start to the end: events/s.
 * - delay: `--notifies` availability notifies, one at a time (answer-after-apply), while a
 *   consumer follows the feed; per notify, the time from its answer to the first read that
 *   returned its `slot.changed` event (negative when the event was read before the answer
 *   arrived): p50 and p99.
 * The last line on stdout is one JSON object.
 */
import jwt from 'jsonwebtoken';
import { createDb } from '@octo-sync/db';
import { clearPrefix, generateCatalog, slotStart, startService, startTestSupplier, uniquePrefix, type ServiceProcess } from '@octo-sync/testkit';
import { note, parseArgs, round } from './lib/args';
import { BENCH_REDIS_URL, dropBenchDatabase, recreateDatabase } from './lib/bench-db';

const args = parseArgs(process.argv.slice(2), { events: 1_000_000, limit: 1000, notifies: 500, database: 'octo_sync_bench_changes', keep: false });
const JWT_SECRET = 'bench-changes-jwt-secret-0123456789';

interface Page {
  events: Array<{ id: string; availabilityId: string | null }>;
  next: string | null;
}

async function readPage(base: string, token: string, after: string | null): Promise<Page> {
  const query = `limit=${args.limit}${after === null ? '' : `&after=${after}`}`;
  const res = await fetch(`${base}/api/v1/changes?${query}`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`GET /api/v1/changes answered ${res.status}`);
  return ((await res.json()) as { data: Page }).data;
}

/** One consumer from the start of the feed to its end: how many events, how long. */
async function readAll(base: string, token: string): Promise<{ events: number; ms: number }> {
  const started = performance.now();
  let after: string | null = null;
  let events = 0;
  for (;;) {
    const page = await readPage(base, token, after);
    events += page.events.length;
    if (page.events.length === 0) return { events, ms: performance.now() - started };
    after = page.next;
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Notifies one at a time while a consumer follows the feed; the delay from each answer to its event being read. */
async function measureDelay(base: string, token: string, notifyUrl: string, secret: string, from: string | null): Promise<number[]> {
  const seen = new Map<string, number>();
  let following = true;
  const follow = (async () => {
    let after = from;
    while (following) {
      const page = await readPage(base, token, after);
      const at = performance.now();
      for (const e of page.events) if (e.availabilityId !== null && !seen.has(e.availabilityId)) seen.set(e.availabilityId, at);
      after = page.next ?? after;
    }
  })();
  const answered = new Map<string, number>();
  for (let i = 0; i < args.notifies; i++) {
    const availabilityId = `slot-${i}`;
    const body = JSON.stringify({ productId: 'p', optionId: 'DEFAULT', availabilityId, localDateTimeStart: slotStart(30, '10:00', '+02:00'), status: 'AVAILABLE', vacancies: 5, capacity: 9 });
    const res = await fetch(notifyUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': secret }, body });
    if (res.status !== 200) throw new Error(`notify answered ${res.status}`);
    answered.set(availabilityId, performance.now());
  }
  const deadline = performance.now() + 60_000;
  while (seen.size < args.notifies && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  following = false;
  await follow;
  if (seen.size < args.notifies) throw new Error(`only ${seen.size} of ${args.notifies} notified slots reached the feed`);
  return [...answered].map(([id, at]) => seen.get(id)! - at).sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const databaseUrl = await recreateDatabase(args.database);
  const prefix = uniquePrefix('bench-changes');
  const supplier = await startTestSupplier({ catalog: generateCatalog({ products: 1, options: 1, units: 1 }) });
  const env = {
    DATABASE_URL: databaseUrl, REDIS_URL: BENCH_REDIS_URL, QUEUE_PREFIX: prefix, SECRETS_KEY: 'bench-changes', JWT_SECRET,
    OCTO_ALLOWED_HOSTS: supplier.hostPort, ALLOW_INSECURE_OCTO_URLS: 'true', SCHEDULES_ENABLED: 'false', NOTIFY_RATE_LIMIT: '100000000', PORT: '0', LOG_LEVEL: 'info',
  };
  const db = createDb({ databaseUrl, secretsKey: env.SECRETS_KEY, poolSize: 2 });
  const processes: ServiceProcess[] = [];
  try {
    processes.push(...(await Promise.all([startService('gateway', env), startService('worker', env)])));
    const port = (await processes[0]!.waitForLog((l) => l.msg === 'gateway started')).port as number;
    for (const p of processes) p.child.stdout?.removeAllListeners('data').resume();
    const base = `http://127.0.0.1:${port}`;
    const token = jwt.sign({ role: 'reader', sub: 'bench-changes' }, JWT_SECRET, { algorithm: 'HS256', expiresIn: '2h' });
    const { integration, webhookSecret } = await db.integrations.create({ partnerId: 'bench', baseUrl: supplier.url, authType: 'bearer', authKey: 'k', handlesTicketDelivery: false, isApproved: true });
    // As one writing transaction would append them: one unsequenced header, its events numbered from 0.
    await db.pool.query(
      `WITH h AS (INSERT INTO change_transactions (ticket, event_count) VALUES (nextval('change_transactions_id_seq'), $2) RETURNING id)
       INSERT INTO change_events (txn_id, idx, integration_id, type, product_octo_id, content_hash)
       SELECT h.id, g - 1, $1::uuid, 'product.updated', 'p-' || (g % 10000), md5(g::text) FROM h, generate_series(1, $2::int) AS g`,
      [integration.id, args.events],
    );
    note(`${args.events} events in the outbox; reading them`);
    const read = await readAll(base, token);
    note(`read ${read.events} events in ${round(read.ms, 0)} ms`);
    const product = await db.prisma.product.create({ data: { integrationId: integration.id, octoId: 'p', raw: {}, contentHash: 'x' } });
    await db.prisma.productOption.create({ data: { productId: product.id, octoId: 'DEFAULT', raw: {}, contentHash: 'x' } });
    const tail = await db.pool.query<{ max: string }>('SELECT sequenced_through::text AS max FROM change_feed_sequencer WHERE id = 1');
    const notifyUrl = `${base}/api/v1/partner-integrations/${integration.id}/availability/notify`;
    const delays = await measureDelay(base, token, notifyUrl, webhookSecret, tail.rows[0]!.max);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'changes',
        read: { events: read.events, pageLimit: args.limit, ms: round(read.ms, 0), eventsPerS: round(read.events / (read.ms / 1000), 0) },
        delay: { notifies: delays.length, p50Ms: round(percentile(delays, 50), 2), p99Ms: round(percentile(delays, 99), 2), maxMs: round(delays[delays.length - 1]!, 2) },
      })}\n`,
    );
  } finally {
    for (const p of processes) p.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
    await db.close();
    await supplier.close();
    await clearPrefix(prefix);
    if (!args.keep) await dropBenchDatabase(args.database);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:changes failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
