/**
 * The supplier side and the store of `bench:freshness`, as a discrete-event simulation on a
 * virtual clock (seconds): every slot's last change (the supplier's truth), every answer the
 * store took (when it was answered and which option and days it covered), the change hints and
 * the reads. A slot's stored state is the supplier's truth at its newest answer, so a read is
 * stale exactly when the slot changed after that answer; its age is the time since that answer
 * (its `confirmed_at`: an unchanged pull writes no row but confirms every slot it covered).
 */
import { BAND_FIRST_DAY, BudgetMeter, BudgetPacer, MODEL, bandDays, poisson, seededRandom, type Budget } from './freshness-model';

const OPTIONS = MODEL.products * MODEL.optionsPerProduct;
const K = MODEL.slotsPerDay;
/** Answers kept per (supplier, option, tier): the newest covering one is always among them. */
const RING = 4;
const RING_KINDS = 4;

/** One supplier call: an option over absolute days (days since the run's first day), both included. */
export interface CallTarget {
  option: number;
  from: number;
  to: number;
}

export interface SimSettings {
  suppliers: number;
  budget: Budget;
  latencyS: number;
  /** Whether 10% of changes send a hint (the tiered run: yes; the flat baseline: today's, no). */
  hints: boolean;
  hintCoalesceS: number;
  /** The virtual clock's start (seconds since the first day's midnight: every slot confirmed then), its end, and from when reads count. */
  startS: number;
  endS: number;
  warmupS: number;
  readsPerStep: number;
  seed: number;
}

export interface SimFigures {
  reads: number;
  staleReads: number;
  staleByBand: number[];
  readsByBand: number[];
  /** Ages (s) of the near band's reads. */
  nearAges: Float64Array;
  calls: number;
  /** Slots the calls asked for (days × slots a day): what the supplier computes and sends. */
  slotsAsked: number;
  hintCalls: number;
  hints: number;
  budgetExceededCalls: number;
}

interface HintRun {
  startAt: number;
  supplier: number;
  targets: CallTarget[];
}

export class FreshnessSim {
  private readonly absDays: number;
  private readonly lastChange: Float64Array;
  private readonly hintAnswer: Float64Array;
  private readonly ring: Float64Array;
  private readonly ringNext: Uint8Array;
  private readonly pacers: BudgetPacer[];
  private readonly meters: BudgetMeter[];
  private readonly pending: Array<HintRun | undefined>;
  private readonly hintQueue: HintRun[] = [];
  private readonly changes = seededRandom(1);
  private readonly readsRandom = seededRandom(2);
  private nearAges = new Float64Array(1 << 16);
  private readonly f = { reads: 0, staleReads: 0, staleByBand: [0, 0, 0], readsByBand: [0, 0, 0], nearCount: 0, calls: 0, slotsAsked: 0, hintCalls: 0, hints: 0 };

  constructor(private readonly s: SimSettings) {
    this.changes = seededRandom(s.seed);
    this.readsRandom = seededRandom(s.seed + 1);
    this.absDays = Math.ceil(s.endS / 86_400) + MODEL.days + 2;
    this.lastChange = new Float64Array(s.suppliers * OPTIONS * this.absDays * K).fill(Number.NEGATIVE_INFINITY);
    this.hintAnswer = new Float64Array(s.suppliers * OPTIONS * this.absDays * 2).fill(Number.NEGATIVE_INFINITY);
    this.ring = new Float64Array(s.suppliers * OPTIONS * RING_KINDS * RING * 3).fill(Number.NEGATIVE_INFINITY);
    this.ringNext = new Uint8Array(s.suppliers * OPTIONS * RING_KINDS);
    this.pacers = Array.from({ length: s.suppliers }, () => new BudgetPacer(s.budget, s.latencyS));
    this.meters = Array.from({ length: s.suppliers }, () => new BudgetMeter(s.budget));
    this.pending = Array.from({ length: s.suppliers });
  }

  /** The absolute day of virtual time `t` (day 0 starts at 0). */
  static dayOf(t: number): number {
    return Math.floor(t / 86_400);
  }

  /**
   * A pull's calls, asked at `askedAt`: each spends the supplier's budget and its answer, when it
   * comes, confirms its option's days (`kind`: the tier, or -1 for a hint run). Returns when the
   * last answer arrives (the pull is in flight until then).
   */
  pull(supplier: number, kind: number, targets: readonly CallTarget[], askedAt: number): number {
    let last = askedAt;
    for (const t of targets) {
      const start = this.pacers[supplier]!.start(askedAt);
      const answered = start + this.s.latencyS;
      this.meters[supplier]!.record(start, answered);
      if (askedAt >= this.s.warmupS) {
        this.f.calls += 1;
        this.f.slotsAsked += (t.to - t.from + 1) * K;
      }
      if (kind < 0) {
        if (askedAt >= this.s.warmupS) this.f.hintCalls += 1;
        for (let day = t.from; day <= t.to; day++) {
          const i = ((supplier * OPTIONS + t.option) * this.absDays + day) * 2;
          this.hintAnswer[i + 1] = this.hintAnswer[i]!;
          this.hintAnswer[i] = answered;
        }
      } else {
        const r = (supplier * OPTIONS + t.option) * RING_KINDS + kind;
        const at = (r * RING + this.ringNext[r]!) * 3;
        this.ring[at] = answered;
        this.ring[at + 1] = t.from;
        this.ring[at + 2] = t.to;
        this.ringNext[r] = (this.ringNext[r]! + 1) % RING;
      }
      last = Math.max(last, answered);
    }
    return last;
  }

  /** The slot's confirmation at `at`: its newest answer by then (the start: the initial sync). */
  private confirmedAt(supplier: number, option: number, day: number, at: number): number {
    let best = this.s.startS;
    const h = ((supplier * OPTIONS + option) * this.absDays + day) * 2;
    for (const v of [this.hintAnswer[h]!, this.hintAnswer[h + 1]!]) if (v <= at && v > best) best = v;
    for (let kind = 0; kind < RING_KINDS; kind++) {
      const r = ((supplier * OPTIONS + option) * RING_KINDS + kind) * RING * 3;
      for (let e = 0; e < RING; e++) {
        const t = this.ring[r + e * 3]!;
        if (t <= at && t > best && this.ring[r + e * 3 + 1]! <= day && day <= this.ring[r + e * 3 + 2]!) best = t;
      }
    }
    return best;
  }

  /**
   * One step of the clock, [from, from + stepS): the supplier's changes (and their hints, which
   * coalesce per supplier and start their pull `hintCoalesceS` after the first), and the reads,
   * in order of time. The scheduler's pulls of the step were asked before, at `from`.
   */
  step(from: number, stepS: number): void {
    const events: Array<[number, number, number, number, number, number]> = [];
    const today = FreshnessSim.dayOf(from);
    for (let sup = 0; sup < this.s.suppliers; sup++) {
      for (const band of [0, 1, 2] as const) {
        const days = bandDays(band);
        const slots = (days.to - days.from + 1) * OPTIONS * K;
        const n = poisson(this.changes, (slots * MODEL.changeRatePerHour[band] * stepS) / 3_600);
        for (let i = 0; i < n; i++) {
          const option = Math.floor(this.changes() * OPTIONS);
          const day = today + days.from + Math.floor(this.changes() * (days.to - days.from + 1));
          const slot = Math.floor(this.changes() * K);
          const hinted = this.changes() < MODEL.hintShare ? 1 : 0;
          events.push([from + this.changes() * stepS, 0, sup, option, day, slot * 2 + hinted]);
        }
      }
    }
    for (let i = 0; i < this.s.readsPerStep; i++) {
      const sup = Math.floor(this.readsRandom() * this.s.suppliers);
      const w = this.readsRandom();
      const band = w < MODEL.readWeights[0] ? 0 : w < MODEL.readWeights[0] + MODEL.readWeights[1] ? 1 : 2;
      const days = bandDays(band);
      const day = today + days.from + Math.floor(this.readsRandom() * (days.to - days.from + 1));
      events.push([from + this.readsRandom() * stepS, 1, sup, Math.floor(this.readsRandom() * OPTIONS), day, Math.floor(this.readsRandom() * K)]);
    }
    events.sort((a, b) => a[0] - b[0]);
    for (const [t, type, sup, option, day, slot] of events) {
      while (this.hintQueue.length > 0 && this.hintQueue[0]!.startAt <= t) this.startHintRun(this.hintQueue.shift()!);
      if (type === 0) this.change(t, sup, option, day, slot >> 1, (slot & 1) === 1);
      else this.read(t, sup, option, day, slot, today);
    }
    while (this.hintQueue.length > 0 && this.hintQueue[0]!.startAt < from + stepS) this.startHintRun(this.hintQueue.shift()!);
  }

  private change(t: number, sup: number, option: number, day: number, slot: number, hinted: boolean): void {
    this.lastChange[((sup * OPTIONS + option) * this.absDays + day) * K + slot] = t;
    if (!hinted || !this.s.hints) return;
    if (t >= this.s.warmupS) this.f.hints += 1;
    const run = this.pending[sup];
    if (run !== undefined && run.startAt > t) {
      // Joins the queued hint run: a hint of an option it lists widens that target's days.
      const same = run.targets.find((x) => x.option === option);
      if (same) {
        same.from = Math.min(same.from, day);
        same.to = Math.max(same.to, day);
      } else run.targets.push({ option, from: day, to: day });
      return;
    }
    const created: HintRun = { startAt: t + this.s.hintCoalesceS, supplier: sup, targets: [{ option, from: day, to: day }] };
    this.pending[sup] = created;
    this.hintQueue.push(created);
  }

  private startHintRun(run: HintRun): void {
    if (this.pending[run.supplier] === run) this.pending[run.supplier] = undefined;
    this.pull(run.supplier, -1, run.targets, run.startAt);
  }

  private read(t: number, sup: number, option: number, day: number, slot: number, today: number): void {
    if (t < this.s.warmupS) return;
    const band = day - today < BAND_FIRST_DAY[1] ? 0 : day - today < BAND_FIRST_DAY[2] ? 1 : 2;
    const confirmed = this.confirmedAt(sup, option, day, t);
    const stale = this.lastChange[((sup * OPTIONS + option) * this.absDays + day) * K + slot]! > confirmed;
    this.f.reads += 1;
    this.f.readsByBand[band]! += 1;
    if (stale) {
      this.f.staleReads += 1;
      this.f.staleByBand[band]! += 1;
    }
    if (band !== 0) return;
    if (this.f.nearCount === this.nearAges.length) {
      const grown = new Float64Array(this.nearAges.length * 2);
      grown.set(this.nearAges);
      this.nearAges = grown;
    }
    this.nearAges[this.f.nearCount++] = t - confirmed;
  }

  figures(): SimFigures {
    const { nearCount, ...rest } = this.f;
    return { ...rest, nearAges: this.nearAges.slice(0, nearCount), budgetExceededCalls: this.meters.reduce((sum, m) => sum + m.exceeded, 0) };
  }
}

/** Options per supplier in the model (one `POST /availability` each per window asked). */
export const MODEL_OPTIONS = OPTIONS;
