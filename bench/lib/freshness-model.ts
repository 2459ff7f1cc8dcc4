/**
 * The fixed model of `bench:freshness` (issue 22, item 8) and the parts of the simulation that are
 * pure: a seeded random stream, the supplier budget's pacing as the Redis budget grants permits,
 * and an independent meter that counts calls beyond a budget. The scheduler itself (tiers, their
 * phase slots, the claim) is the project's own code, driven by the bench (freshness.bench.ts).
 */

/** The model, as the issue fixes it. Days are counted from the local today (day 0). */
export const MODEL = {
  suppliers: 500,
  products: 20,
  optionsPerProduct: 2,
  slotsPerDay: 4,
  /** Slots exist on days 0..89. */
  days: 90,
  /** Changes per slot per hour, by band (see {@link bandOf}). */
  changeRatePerHour: [0.2, 0.02, 0.002] as const,
  /** Share of changes that also send a change hint. */
  hintShare: 0.1,
  /** Share of reads per band. */
  readWeights: [0.7, 0.25, 0.05] as const,
} as const;

/** The bands' first days: near (0..3, today and the next 3 days), middle (4..30), far (31..89). */
export const BAND_FIRST_DAY = [0, 4, 31] as const;

/** The band of a day offset: 0 near, 1 middle, 2 far. */
export function bandOf(day: number): 0 | 1 | 2 {
  if (day < BAND_FIRST_DAY[1]) return 0;
  return day < BAND_FIRST_DAY[2] ? 1 : 2;
}

/** The days of a band (first, last), within the model's days. */
export function bandDays(band: 0 | 1 | 2): { from: number; to: number } {
  const from = BAND_FIRST_DAY[band];
  const to = band === 2 ? MODEL.days - 1 : BAND_FIRST_DAY[band + 1]! - 1;
  return { from, to };
}

/** A seeded uniform stream in [0, 1) (mulberry32): both strategies see the same changes and reads. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Poisson draw of mean `mean` (inversion; the means here are small). */
export function poisson(random: () => number, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(random)));
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random();
  while (p > limit) {
    k += 1;
    p *= random();
  }
  return k;
}

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** A supplier's budget: requests per second and calls in flight at once. */
export interface Budget {
  requestsPerSecond: number;
  concurrency: number;
}

/**
 * When each call of one supplier starts, as its budget grants permits: a token bucket holding one
 * second of the rate (at least one token) and at most `concurrency` calls in flight, the rule of
 * the budget's Redis script (`SupplierBudget.permit`). Modeled: calls are granted in the order they
 * are asked (the Redis budget grants whichever waiter asks first after a token is back), and a call
 * holds its lease for `latencyS`. Times are seconds.
 */
export class BudgetPacer {
  private tokens: number;
  private at = Number.NEGATIVE_INFINITY;
  private lastStart = Number.NEGATIVE_INFINITY;
  private readonly leases: number[];
  private readonly burst: number;

  constructor(
    private readonly budget: Budget,
    private readonly latencyS: number,
  ) {
    this.burst = Math.max(1, budget.requestsPerSecond);
    this.tokens = this.burst;
    this.leases = Array.from({ length: budget.concurrency }, () => Number.NEGATIVE_INFINITY);
  }

  /** The start of a call asked for at `askedAt` (after every call asked before it). */
  start(askedAt: number): number {
    const rate = this.budget.requestsPerSecond;
    let start = Math.max(askedAt, this.lastStart);
    const tokensAt = (t: number) => (this.at === Number.NEGATIVE_INFINITY ? this.burst : Math.min(this.burst, this.tokens + (t - this.at) * rate));
    if (tokensAt(start) < 1) start += (1 - tokensAt(start)) / rate;
    let lane = 0;
    for (let i = 1; i < this.leases.length; i++) if (this.leases[i]! < this.leases[lane]!) lane = i;
    start = Math.max(start, this.leases[lane]!);
    this.tokens = tokensAt(start) - 1;
    this.at = start;
    this.lastStart = start;
    this.leases[lane] = start + this.latencyS;
    return start;
  }
}

/**
 * Counts calls to one supplier beyond its budget, from the calls' start and end times alone
 * (independent of how they were paced): a call that finds less than one token in a bucket of one
 * second of the rate, or that starts while `concurrency` calls are in flight. Calls must be given
 * in order of their start.
 */
export class BudgetMeter {
  exceeded = 0;
  calls = 0;
  private tokens: number;
  private at = Number.NEGATIVE_INFINITY;
  private readonly ends: number[] = [];
  private readonly burst: number;

  constructor(private readonly budget: Budget) {
    this.burst = Math.max(1, budget.requestsPerSecond);
    this.tokens = this.burst;
  }

  record(start: number, end: number): void {
    this.calls += 1;
    const tokens = this.at === Number.NEGATIVE_INFINITY ? this.burst : Math.min(this.burst, this.tokens + (start - this.at) * this.budget.requestsPerSecond);
    for (let i = this.ends.length - 1; i >= 0; i--) if (this.ends[i]! <= start) this.ends.splice(i, 1);
    // A micro-second of slack for floating-point sums; a call over the budget is over by far more.
    const over = tokens < 1 - 1e-6 || this.ends.length >= this.budget.concurrency;
    if (over) this.exceeded += 1;
    this.tokens = tokens - 1;
    this.at = start;
    this.ends.push(end);
  }
}

/** The `q` quantile (0..1) of `values` (sorted in place), nearest rank; NaN when empty. */
export function quantile(values: number[] | Float64Array, q: number): number {
  if (values.length === 0) return Number.NaN;
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1))]!;
}
