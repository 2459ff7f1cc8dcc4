/**
 * Every benchmark's targets, in one place. Each bench judges its figures here (`judge`), prints
 * the verdict in its JSON line and, with `--check`, exits non-zero on a miss (`printResult`); the
 * README's targets table is rendered from here (`renderTargetsTable`), and
 * `test/bench-targets.test.ts` fails when the README's table says anything else.
 *
 * A target is never loosened to make a run pass: a miss is reported, measured, in bench/README.md.
 */

/** How a figure is compared with its target value. */
export type Comparison = '<=' | '>=' | '==';

/** One target: the figure a bench reports under the target's name, compared with `value`. */
export interface Target {
  /** What the figure is, as the README's targets table shows it. */
  readonly figure: string;
  readonly comparison: Comparison;
  readonly value: number | boolean;
}

/** The targets of every bench, by bench name and then by the figure's name in its JSON line. */
export const BENCH_TARGETS = {
  sync: {
    freshVsNaive: { figure: 'fresh rows/s ÷ naive per-row Prisma upsert rows/s', comparison: '>=', value: 30 },
    freshVsCopyFloor: { figure: 'fresh sync time ÷ COPY into unindexed staging tables', comparison: '<=', value: 2.5 },
    unchangedVsFresh: { figure: 'unchanged re-sync time ÷ fresh', comparison: '<=', value: 0.05 },
    unchangedRowsWritten: { figure: 'rows written by the unchanged re-sync (by `xmin`)', comparison: '==', value: 0 },
    changed1pctVsFresh: { figure: '1%-of-units-changed re-sync time ÷ fresh', comparison: '<=', value: 0.15 },
    languagesOneChangedVsSingle: {
      figure: 'three languages, 1% of one language’s content changed: re-sync time ÷ (the same change in one language + 2 × the unchanged re-sync)',
      comparison: '<=',
      value: 1.2,
    },
    languagesUnchangedVsFresh: { figure: 'three languages: unchanged re-sync time ÷ fresh', comparison: '<=', value: 0.05 },
    changed1pctRowsVsChanged: { figure: 'rows written by the 1% re-sync (by `xmin`) ÷ units changed', comparison: '==', value: 1 },
    removed10pctRowsVsRemoved: { figure: 'rows written by the 10%-removed re-sync (by `xmin`) ÷ rows removed', comparison: '==', value: 1 },
    peakRssVsPayload: { figure: 'worker peak RSS ÷ catalog bytes', comparison: '<=', value: 4 },
    freshFeedOnVsOff: { figure: 'fresh sync time with the change feed ÷ without', comparison: '<=', value: 1.1 },
    eventLoopDelayP99Ms: { figure: 'worker event-loop delay p99 during a sync, worst scenario (ms)', comparison: '<=', value: 50 },
    eventLoopDelayMaxMs: { figure: 'worker event-loop delay max during a sync, worst scenario (ms)', comparison: '<=', value: 500 },
  },
  gateway: {
    triggerAsyncVsBare: { figure: 'sync trigger (`respond-async`) answers/s ÷ bare Express route', comparison: '>=', value: 0.5 },
    rejectedVsBare: { figure: 'refused trigger (bad secret) answers/s ÷ bare Express route', comparison: '>=', value: 0.5 },
    signedVsHeader: { figure: 'signed trigger answers/s ÷ header-secret trigger', comparison: '>=', value: 0.9 },
  },
  notify: {
    sustainedAppliedPerS: { figure: 'changes applied/s, answer-after-apply, best step with no refusal', comparison: '>=', value: 2000 },
    applyBacklogAtEnd: { figure: 'jobs still queued when an answer-after-apply load stops, worst step', comparison: '==', value: 0 },
    poisonNeighbourP50Ratio: { figure: 'a neighbour’s p50 while another tenant floods unstorable times ÷ its p50 alone', comparison: '<=', value: 2 },
    tracedDefaultVsOff: { figure: 'changes applied/s with tracing on at the default ratio (0.1) ÷ tracing off, answer-after-apply, 32 connections', comparison: '>=', value: 0.9 },
  },
  pull: {
    freshRowsVsSlots: { figure: 'rows written by the fresh pull ÷ slots answered', comparison: '==', value: 1 },
    unchangedVsFresh: { figure: 'unchanged pull time ÷ fresh', comparison: '<=', value: 0.2 },
    unchangedRowsWritten: { figure: 'rows and change events written by the unchanged pull', comparison: '==', value: 0 },
    changed1pctVsFresh: { figure: '1%-of-slots-changed pull time ÷ fresh', comparison: '<=', value: 0.3 },
    changed1pctRowsVsChanged: { figure: 'rows written by the 1% pull ÷ slots changed', comparison: '==', value: 1 },
    unchangedVsFloor: { figure: 'unchanged pull time ÷ the same answers fetched and hashed', comparison: '<=', value: 1.1 },
    historyVsNoHistory: { figure: '1% pull time with 10× the window’s slots stored outside it ÷ without them', comparison: '<=', value: 1.2 },
  },
  fleet: {
    runsVsFloor: { figure: 'fleet runs/s ÷ fetch-and-hash floor catalogs/s', comparison: '>=', value: 0.4 },
    rowFloorRatio: { figure: 'fleet runs/s ÷ a floor that COPYs the same rows and events, one transaction per catalog (`rowFloor.ratio`)', comparison: '>=', value: 0.5 },
    syncedOnce: { figure: 'every integration synced (one succeeded run, every product)', comparison: '==', value: true },
    advisoryLockWaits: { figure: 'share of sampled Postgres backends waiting on `Lock:advisory` (`usage.postgres.waits`)', comparison: '<=', value: 0.05 },
    idleInTransaction: { figure: 'mean Postgres sessions idle in transaction (`usage.postgres.idleInTransactionMean`)', comparison: '<=', value: 1 },
    pgClassInsertsPerRun: { figure: 'rows inserted into `pg_class` per run, from `pg_stat_sys_tables` (`usage.postgres.pgClassInsertsPerRun`)', comparison: '==', value: 0 },
  },
  fanout: {
    fanoutVsFloor: { figure: 'nightly fan-out time ÷ one `INSERT … SELECT` + one `addBulk`', comparison: '<=', value: 3 },
    exactlyOnce: { figure: 'one run and one job per integration, none on a second tick', comparison: '==', value: true },
  },
  scale: {
    'growth.pull': { figure: 'a 1%-changed pull of one integration’s window at 10 M stored slots ÷ at 1 M', comparison: '<=', value: 1.5 },
    'growth.unchangedPull': { figure: 'an unchanged pull of the same window at 10 M ÷ at 1 M', comparison: '<=', value: 1.5 },
    'growth.notify500': { figure: 'a notify batch of 500 changes, answered once applied, at 10 M ÷ at 1 M', comparison: '<=', value: 1.5 },
    'growth.readPage': { figure: 'a read-API page of 100 slots at 10 M ÷ at 1 M', comparison: '<=', value: 1.5 },
    'growth.feedPage': { figure: 'a change-feed page of 1,000 events at 10 M ÷ at 1 M (the feed grows with the slots)', comparison: '<=', value: 1.5 },
    'growth.retentionTick': { figure: 'one retention tick (`availability.partitions`: months created ahead, old months dropped) at 10 M ÷ at 1 M', comparison: '<=', value: 1.5 },
  },
  freshness: {
    tieredVsFlatStale: { figure: 'stale-read fraction, tiers and hints ÷ flat 90-day pulls at the same request budget (`tiered.staleReadFraction` ÷ `flat.staleReadFraction`)', comparison: '<=', value: 1 / 3 },
    p99AgeNearVsFirstTier: { figure: 'p99 age of the next 3 days’ slots at read ÷ the first tier’s interval (`tiered.p99AgeNearSeconds` ÷ `tiered.firstTierIntervalSeconds`)', comparison: '<=', value: 1.2 },
    budgetExceededCalls: { figure: 'supplier calls beyond their supplier’s budget (rate or concurrency), every run', comparison: '==', value: 0 },
  },
  failover: {
    acknowledgedLost: { figure: 'acknowledged notifies not applied after a master is killed', comparison: '==', value: 0 },
    gatewayCrashed: { figure: 'the gateway exited during the failover', comparison: '==', value: false },
    hungOnShutdown: { figure: 'a process outlived its shutdown after the failover', comparison: '==', value: false },
  },
} as const satisfies Record<string, Record<string, Target>>;

/** A bench that has targets. */
export type BenchName = keyof typeof BENCH_TARGETS;

/** The figures a bench must report to be judged: one per target, by the target's name. */
export type Figures<B extends BenchName> = { [K in keyof (typeof BENCH_TARGETS)[B]]: number | boolean };

/** Whether each target was met, and the names of those that were not. */
export interface Verdict {
  readonly met: Record<string, boolean>;
  readonly missed: string[];
}

/** Whether `figure` meets `target` (a figure of the wrong kind, or NaN, never does). */
export function meets(target: Target, figure: number | boolean): boolean {
  if (target.comparison === '==') return figure === target.value;
  if (typeof figure !== 'number' || typeof target.value !== 'number' || Number.isNaN(figure)) return false;
  return target.comparison === '<=' ? figure <= target.value : figure >= target.value;
}

/** Judges a bench's figures against its targets. */
export function judge<B extends BenchName>(bench: B, figures: Figures<B>): Verdict {
  const targets: Record<string, Target> = BENCH_TARGETS[bench];
  const values: Record<string, number | boolean> = figures;
  const met: Record<string, boolean> = {};
  for (const [name, target] of Object.entries(targets)) met[name] = meets(target, values[name] ?? Number.NaN);
  return { met, missed: Object.keys(met).filter((name) => !met[name]) };
}

function formatValue(value: number | boolean): string {
  return typeof value === 'number' ? value.toLocaleString('en-US') : String(value);
}

const SYMBOL: Record<Comparison, string> = { '<=': '≤', '>=': '≥', '==': '=' };

/** The README's targets table (markdown lines), rendered from `BENCH_TARGETS`. */
export function renderTargetsTable(): string {
  const lines = ['| bench | figure (name in the JSON line) | target |', '|---|---|---|'];
  for (const [bench, targets] of Object.entries(BENCH_TARGETS)) {
    for (const [name, target] of Object.entries<Target>(targets)) {
      lines.push(`| \`bench:${bench}\` | ${target.figure} (\`${name}\`) | ${SYMBOL[target.comparison]} ${formatValue(target.value)} |`);
    }
  }
  return lines.join('\n');
}
