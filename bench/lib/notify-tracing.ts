import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from '@octo-sync/db';
import { clearPrefix, slotStart, startService, uniquePrefix, waitFor, type ServiceProcess } from '@octo-sync/testkit';
import { note, round } from './args';
import { runLoad } from './load';
import { cpuSeconds } from './process-cpu';
import { createTenant } from './notify-poison';

/** The three ways a gateway and its worker run here: tracing off, on at the default ratio, every trace recorded. */
const VARIANTS = ['off', 'defaultRatio', 'everyRequest'] as const;

type Variant = (typeof VARIANTS)[number];

/** A variant's tracing variables (an empty value is unset: the default ratio). */
function tracingEnv(variant: Variant, sinkUrl: string): Record<string, string> {
  if (variant === 'off') return { OTEL_SDK_DISABLED: 'true' };
  return { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, OTEL_TRACES_SAMPLER_ARG: variant === 'everyRequest' ? '1' : '' };
}

/** What the tracing phase of bench:notify measured. */
export interface TracingFigures {
  /** Changes applied per second, answer-after-apply, over every round of each variant. */
  appliedPerS: Record<Variant, number>;
  /** Each round's changes/s, in the order the variants ran in it. */
  rounds: Array<Partial<Record<Variant, number>>>;
  /**
   * Each traced variant's changes/s ÷ the untraced pair's in the same round, the median over the
   * rounds: a burst of the shared machine's other load spoils one round, not the figure.
   */
  vsOff: { defaultRatio: number; everyRequest: number };
  /**
   * CPU the gateway and the worker spent per change applied (ms, user + system, over every
   * round): unlike a rate, it does not move with what else the shared machine runs.
   */
  cpuMsPerChange: Record<Variant, number>;
  /** What the local sink received: OTLP requests and bytes (spans are not parsed, to spare the CPU). */
  sink: { requests: number; bytes: number };
}

/** An OTLP/HTTP endpoint that accepts and counts, standing in for a collector on the same host. */
async function startSink(): Promise<{ url: string; counts: TracingFigures['sink']; close: () => void }> {
  const counts = { requests: 0, bytes: 0 };
  const server = createServer((req, res) => {
    counts.requests++;
    req.on('data', (chunk: Buffer) => (counts.bytes += chunk.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, counts, close: () => server.close() };
}

interface Pair {
  variant: Variant;
  prefix: string;
  processes: ServiceProcess[];
  url: string;
  headers: Record<string, string>;
  rows: () => Promise<number>;
}

/** A gateway and a worker of one variant, on their own queue prefix, with a tenant of their own. */
async function startPair(variant: Variant, env: Record<string, string>, sinkUrl: string, db: Db, supplierUrl: string): Promise<Pair> {
  const prefix = uniquePrefix(`bench-notify-${variant}`);
  const tracing = tracingEnv(variant, sinkUrl);
  const processes = await Promise.all([startService('gateway', { ...env, ...tracing, QUEUE_PREFIX: prefix }), startService('worker', { ...env, ...tracing, QUEUE_PREFIX: prefix })]);
  const port = (await processes[0].waitForLog((l) => l.msg === 'gateway started')).port as number;
  for (const p of processes) p.child.stdout?.removeAllListeners('data').resume();
  const tenant = await createTenant(db, supplierUrl, `bench-tracing-${variant}`);
  return {
    variant,
    prefix,
    processes,
    url: `http://127.0.0.1:${port}/api/v1/partner-integrations/${tenant.id}/availability/notify`,
    headers: { 'content-type': 'application/json', 'x-webhook-secret': tenant.secret },
    rows: () => db.prisma.availabilitySlot.count({ where: { integrationId: tenant.id } }),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const BODY = JSON.stringify({ productId: 'p', optionId: 'DEFAULT', availabilityId: '[<id>]', localDateTimeStart: slotStart(30, '10:00', '+02:00'), status: 'AVAILABLE', vacancies: 5, capacity: 9 });

/** CPU seconds the pair's two processes have used so far. */
const pairCpu = (pair: Pair) => pair.processes.reduce((sum, p) => sum + cpuSeconds(p.child.pid ?? 0), 0);

/** One load of one pair: changes applied, the time from the first request until the last change was in Postgres, and the pair's CPU meanwhile. */
async function loadPair(pair: Pair, connections: number, durationS: number): Promise<{ applied: number; ms: number; cpuS: number }> {
  const before = await pair.rows();
  const cpuBefore = pairCpu(pair);
  const started = Date.now();
  const load = await runLoad({ url: pair.url, method: 'POST', headers: pair.headers, body: BODY, idReplacement: true, connections, durationS });
  const acknowledged = Object.entries(load.statuses).filter(([s]) => s.startsWith('2')).reduce((n, [, c]) => n + c, 0);
  await waitFor('every acknowledged change to be applied', async () => (await pair.rows()) >= before + acknowledged, { timeoutMs: 120_000, intervalMs: 50 });
  return { applied: (await pair.rows()) - before, ms: Date.now() - started, cpuS: pairCpu(pair) - cpuBefore };
}

/**
 * What tracing costs the notify path, measured in one run: three gateway-and-worker pairs
 * (tracing off, on at the default ratio, every request traced) on the same database and
 * machine, the traced ones exporting to a local OTLP sink. They are loaded in turn, round after
 * round, answer-after-apply at one concurrency, and each round rotates the order, so that the
 * shared machine's drift falls on every variant alike. Idle pairs cost next to nothing (their
 * workers block on Redis).
 */
export async function measureTracingCost(options: { env: Record<string, string>; db: Db; supplierUrl: string; connections: number; durationS: number; rounds: number }): Promise<TracingFigures> {
  const sink = await startSink();
  const pairs: Pair[] = [];
  try {
    for (const variant of VARIANTS) pairs.push(await startPair(variant, options.env, sink.url, options.db, options.supplierUrl));
    const totals = new Map<Variant, { applied: number; ms: number; cpuS: number }>(pairs.map((p) => [p.variant, { applied: 0, ms: 0, cpuS: 0 }]));
    const rounds: TracingFigures['rounds'] = [];
    for (let r = 0; r < options.rounds; r++) {
      const perS: TracingFigures['rounds'][number] = {};
      for (const pair of [...pairs.slice(r % pairs.length), ...pairs.slice(0, r % pairs.length)]) {
        const { applied, ms, cpuS } = await loadPair(pair, options.connections, options.durationS);
        const total = totals.get(pair.variant)!;
        total.applied += applied;
        total.ms += ms;
        total.cpuS += cpuS;
        perS[pair.variant] = round(applied / (ms / 1000), 1);
      }
      note(`tracing round ${r + 1}: ${JSON.stringify(perS)}`);
      rounds.push(perS);
    }
    const appliedPerS = Object.fromEntries([...totals].map(([variant, t]) => [variant, round(t.applied / (t.ms / 1000), 0)])) as Record<Variant, number>;
    const cpuMsPerChange = Object.fromEntries([...totals].map(([variant, t]) => [variant, round((t.cpuS * 1000) / Math.max(1, t.applied), 3)])) as Record<Variant, number>;
    const vsOff = (variant: Variant) => median(rounds.map((r) => (r[variant] ?? 0) / Math.max(1, r.off ?? 0)));
    return { appliedPerS, rounds, vsOff: { defaultRatio: round(vsOff('defaultRatio')), everyRequest: round(vsOff('everyRequest')) }, cpuMsPerChange, sink: { ...sink.counts } };
  } finally {
    for (const pair of pairs) for (const p of pair.processes) p.kill('SIGTERM');
    await Promise.all(pairs.flatMap((pair) => pair.processes.map((p) => p.exited)));
    await Promise.all(pairs.map((pair) => clearPrefix(pair.prefix)));
    sink.close();
  }
}
