/**
 * `npm run bench:freshness -- [--days 1.5] [--suppliers 500] [--check]`
 *
 * How fresh the stored availability stays under the supplier budget, flat pulls against tiers
 * plus change hints, on the model issue 22 fixes (bench/lib/freshness-model.ts): 500 suppliers
 * of 20 products × 2 options × 4 slots a day for 90 days, each with the default budget, whose
 * availability changes without a push (per slot per hour 0.2 on days 0–3, 0.02 on 4–30, 0.002
 * beyond), 10% of changes also sending a hint, reads weighted 70/25/5 over those bands.
 *
 * A discrete-event simulation on a virtual clock, driving the project's own scheduler: the
 * integrations are made by the store in a bench database (their default tiers and budget), the
 * pull schedule is the real `availability_pull_schedule`, and every virtual minute (the tick's
 * cron) the real tick handler claims the due tiers at the virtual time; each requested tier pull
 * asks one `POST /availability` per option over the tier's days (`tierDays`, `pullWindow`), paced
 * by the supplier's budget. The supplier, its answers, the hints' coalescing and the reads are
 * simulated (bench/lib/freshness-sim.ts). Two runs see the same changes and reads: tiers with
 * hints, then flat (one 90-day tier, no hints) at the interval that spends the calls the tiered
 * run spent (`--slot-baseline`: also flat at the interval that asks for the slots the tiered run
 * asked for). Progress goes to stderr; the last line on stdout is one JSON object.
 */
import { createDb, pullTiersOf, tierDays, type Db, type Integration } from '@octo-sync/db';
import type { JobContext } from '@octo-sync/jobs';
import type { PullRequests } from '@octo-sync/runs';
import { createLogger } from '@octo-sync/platform';
import { loadGatewayConfig } from '@octo-sync/gateway/src/config';
import { pullTiersField } from '@octo-sync/gateway/src/pull-tiers.schema';
import { createPullTickHandler } from '@octo-sync/worker/src/availability/pull-tick.handler';
import { pullWindow } from '@octo-sync/worker/src/availability/pull-window';
import { loadWorkerConfig } from '@octo-sync/worker/src/config';
import { note, parseArgs, printResult, round } from './lib/args';
import { dropBenchDatabase, recreateDatabase } from './lib/bench-db';
import { MODEL, quantile, type Budget } from './lib/freshness-model';
import { FreshnessSim, MODEL_OPTIONS, type SimFigures } from './lib/freshness-sim';
import { judge } from './targets';

const args = parseArgs(process.argv.slice(2), {
  suppliers: MODEL.suppliers,
  /** Virtual days simulated per run; the first is warm-up (every tier pulled at least once). */
  days: 1.5,
  warmupDays: 1,
  /** Reads sampled per virtual minute (over the fleet). */
  readsPerMinute: 600,
  /** A modeled supplier call's duration (s): its budget lease is held this long. */
  latencyS: 0.3,
  seed: 22,
  database: 'octo_sync_bench_freshness',
  keep: false,
  /**
   * Also a flat run at the interval that asks the supplier for as many slots (days × options) as
   * the tiered run did: what the comparison would be if a supplier's limit counted slots, not calls.
   */
  slotBaseline: false,
  check: false,
});

const DAY_S = 86_400;
const workerConfig = loadWorkerConfig({});
const hintCoalesceS = loadGatewayConfig({}).hintCoalesceMs / 1000;
if (workerConfig.schedules.pullCron !== '* * * * *') throw new Error(`the bench steps the tick's cron once a minute; AVAILABILITY_PULL_CRON is ${workerConfig.schedules.pullCron}`);
const TICK_S = 60;

/** The supplier of each integration, by id. */
type Fleet = Map<string, number>;

async function makeFleet(db: Db, count: number, label: string, flatMinutes?: number): Promise<Fleet> {
  const fleet: Fleet = new Map();
  for (let i = 0; i < count; i++) {
    const { integration } = await db.integrations.create({
      partnerId: `${label}-${i}`,
      baseUrl: `http://127.0.0.1:9/s/${i}`,
      authType: 'bearer',
      authKey: 'bench-key',
      handlesTicketDelivery: false,
      isApproved: true,
      ...(flatMinutes === undefined ? {} : { availabilityPull: { tiers: [{ daysAhead: MODEL.days, intervalMinutes: flatMinutes }] } }),
    });
    fleet.set(integration.id, i);
  }
  return fleet;
}

function budgetOf(integration: Integration): Budget {
  // A run asks at most PULL_REQUESTS_PER_SUPPLIER at once, within the budget's own concurrency.
  return { requestsPerSecond: integration.supplierRequestsPerSecond, concurrency: Math.min(integration.supplierConcurrency, workerConfig.pull.settings.perSupplier) };
}

const epochDay = (date: string) => Date.parse(`${date}T00:00:00Z`) / 1000 / DAY_S;

interface RunResult {
  figures: SimFigures;
  tiers: Array<{ daysAhead: number; intervalMinutes: number }>;
  wallSeconds: number;
}

/**
 * One run: `fleet`'s integrations scheduled by the real pull schedule and tick, from the
 * virtual time of now for `args.days` days. `hints`: changes that send a hint make hint pulls.
 */
async function simulate(db: Db, fleet: Fleet, hints: boolean): Promise<RunResult> {
  const started = Date.now();
  const base = Math.floor(started / 1000 / DAY_S) * DAY_S;
  const startS = started / 1000 - base;
  const endS = startS + args.days * DAY_S;
  const sample = (await db.prisma.integration.findFirstOrThrow({ where: { id: fleet.keys().next().value! } }));
  const sim = new FreshnessSim({
    suppliers: fleet.size,
    budget: budgetOf(sample),
    latencyS: args.latencyS,
    hints,
    hintCoalesceS,
    startS,
    endS,
    warmupS: startS + args.warmupDays * DAY_S,
    readsPerStep: args.readsPerMinute,
    seed: args.seed,
  });
  let clock = startS;
  const inFlightUntil = new Map<string, number>();
  // A tier's days as the pull asks for them (`pullWindow`, UTC), as absolute days of the model; one per tier and day.
  const windows = new Map<string, { from: number; to: number }>();
  const windowOf = (days: { from: number; to: number }) => {
    const key = `${FreshnessSim.dayOf(clock)}:${days.from}:${days.to}`;
    let window = windows.get(key);
    if (window === undefined) {
      const local = pullWindow(null, days.to, new Date((base + clock) * 1000), { days });
      window = { from: epochDay(local.from) - base / DAY_S, to: Math.min(epochDay(local.to) - base / DAY_S, FreshnessSim.dayOf(clock) + MODEL.days - 1) };
      windows.set(key, window);
    }
    return window;
  };
  // The tick's PullRequests: its tier rule (tierDays, the in-flight refusal) and the pull's calls.
  const pulls = {
    requestTier: async (integration: Integration, tier: number) => {
      const supplier = fleet.get(integration.id);
      if (supplier === undefined) return undefined;
      const days = tierDays(pullTiersOf(integration), tier);
      if (days === undefined) return undefined;
      const key = `${integration.id}:${tier}`;
      if ((inFlightUntil.get(key) ?? Number.NEGATIVE_INFINITY) > clock) return undefined;
      const { from, to } = windowOf(days);
      const targets = Array.from({ length: MODEL_OPTIONS }, (_, option) => ({ option, from, to }));
      inFlightUntil.set(key, sim.pull(supplier, tier, targets, clock));
      return { runId: key, created: true };
    },
  };
  // The modeled requestTier above keeps its own in-flight rule: no run of the bench is abandoned.
  const ABANDON_NEVER_MS = Number.MAX_SAFE_INTEGER;
  const log = createLogger({ level: 'warn', name: 'bench-freshness' });
  const tick = createPullTickHandler({ db, pulls: pulls as unknown as PullRequests, abandonAfterMs: ABANDON_NEVER_MS, now: () => new Date((base + clock) * 1000) });
  const ctx = { log, signal: undefined, token: undefined } as unknown as JobContext;
  let lastNote = Date.now();
  for (; clock < endS; clock += TICK_S) {
    await tick({}, ctx);
    sim.step(clock, TICK_S);
    if (Date.now() - lastNote > 15_000) {
      lastNote = Date.now();
      note(`${hints ? 'tiered' : 'flat'}: virtual ${round((clock - startS) / 3600, 1)} h of ${args.days * 24}`);
    }
  }
  return { figures: sim.figures(), tiers: pullTiersOf(sample), wallSeconds: round((Date.now() - started) / 1000, 1) };
}

function summary(run: RunResult) {
  const f = run.figures;
  const measuredHours = (args.days - args.warmupDays) * 24;
  return {
    tiers: run.tiers,
    reads: f.reads,
    staleReads: f.staleReads,
    staleReadFraction: round(f.staleReads / f.reads, 5),
    staleFractionByBand: f.staleByBand.map((s, i) => round(s / f.readsByBand[i]!, 5)),
    p99AgeNearSeconds: round(quantile(f.nearAges, 0.99), 1),
    p50AgeNearSeconds: round(quantile(f.nearAges, 0.5), 1),
    callsPerSupplierPerHour: round(f.calls / args.suppliers / measuredHours, 1),
    slotsAskedPerSupplierPerHour: Math.round(f.slotsAsked / args.suppliers / measuredHours),
    hintCallsPerSupplierPerHour: round(f.hintCalls / args.suppliers / measuredHours, 2),
    hintsPerSupplierPerHour: round(f.hints / args.suppliers / measuredHours, 2),
    budgetExceededCalls: f.budgetExceededCalls,
    wallSeconds: run.wallSeconds,
  };
}

/**
 * The flat interval at the tiered run's spend: a 90-day pull asks one call per option (and
 * `slotsPerPull` slots), so the interval at which it spends what the tiered run spent per hour,
 * in whole minutes rounded down (the flat run gets at least the tiered run's spend), or the
 * nearest interval the API accepts above it.
 */
function flatInterval(tieredPerHour: number, perPull: number): number {
  const fair = Math.floor((60 * perPull) / tieredPerHour);
  for (let minutes = Math.max(1, fair); minutes <= 1440; minutes++) {
    if (pullTiersField.safeParse([{ days_ahead: MODEL.days, interval_minutes: minutes }]).success) return minutes;
  }
  throw new Error('no flat interval the API accepts');
}

async function flatRun(db: Db, label: string, minutes: number) {
  await db.pool.query('UPDATE integrations SET availability_pull_enabled = false');
  note(`${label}: one ${MODEL.days}-day tier every ${minutes} min`);
  const fleet = await makeFleet(db, args.suppliers, label, minutes);
  return { ...summary(await simulate(db, fleet, false)), intervalMinutes: minutes };
}

async function main(): Promise<void> {
  const url = await recreateDatabase(args.database);
  const db = createDb({ databaseUrl: url, secretsKey: 'bench-freshness-secrets-key' });
  try {
    note(`tiered: ${args.suppliers} integrations with the default tiers and budget`);
    const tieredFleet = await makeFleet(db, args.suppliers, 'tiered');
    const tiered = summary(await simulate(db, tieredFleet, true));
    note(`tiered: ${tiered.callsPerSupplierPerHour} calls and ${tiered.slotsAskedPerSupplierPerHour} slots asked per supplier per hour`);
    const flat = await flatRun(db, 'flat', flatInterval(tiered.callsPerSupplierPerHour, MODEL_OPTIONS));
    const slotsPerFlatPull = MODEL_OPTIONS * MODEL.days * MODEL.slotsPerDay;
    const flatEqualSlots = args.slotBaseline ? await flatRun(db, 'flatEqualSlots', flatInterval(tiered.slotsAskedPerSupplierPerHour, slotsPerFlatPull)) : undefined;
    const firstTierIntervalSeconds = tiered.tiers[0]!.intervalMinutes * 60;
    const figures = {
      tieredVsFlatStale: round(tiered.staleReadFraction / flat.staleReadFraction, 3),
      p99AgeNearVsFirstTier: round(tiered.p99AgeNearSeconds / firstTierIntervalSeconds, 3),
      budgetExceededCalls: tiered.budgetExceededCalls + flat.budgetExceededCalls + (flatEqualSlots?.budgetExceededCalls ?? 0),
    };
    const verdict = judge('freshness', figures);
    const model = { ...MODEL, suppliers: args.suppliers, virtualDays: args.days, warmupDays: args.warmupDays, readsPerMinute: args.readsPerMinute, latencyS: args.latencyS, hintCoalesceS, tickSeconds: TICK_S };
    const result = { bench: 'freshness', model, flat, ...(flatEqualSlots === undefined ? {} : { flatEqualSlots, tieredVsFlatEqualSlotsStale: round(tiered.staleReadFraction / flatEqualSlots.staleReadFraction, 3) }), tiered: { ...tiered, firstTierIntervalSeconds }, ...figures, targets: verdict.met, missed: verdict.missed };
    printResult(result, verdict, args.check);
  } finally {
    await db.close();
    if (!args.keep) await dropBenchDatabase(args.database);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
