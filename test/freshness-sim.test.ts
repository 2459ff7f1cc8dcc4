import { FreshnessSim, MODEL_OPTIONS } from '../bench/lib/freshness-sim';

const DAY = 86_400;

/** One supplier for half a day, its first four days pulled every `everyS` (or never), reads counted after two hours. */
function run({ everyS, hints }: { everyS: number | undefined; hints: boolean }) {
  const sim = new FreshnessSim({
    suppliers: 1,
    budget: { requestsPerSecond: 5, concurrency: 4 },
    latencyS: 0.3,
    hints,
    hintCoalesceS: 2,
    startS: 0,
    endS: DAY / 2,
    warmupS: 7_200,
    readsPerStep: 150,
    seed: 5,
  });
  for (let t = 0; t < DAY / 2; t += 60) {
    if (everyS !== undefined && t % everyS === 0) {
      const today = FreshnessSim.dayOf(t);
      sim.pull(0, 0, Array.from({ length: MODEL_OPTIONS }, (_, option) => ({ option, from: today, to: today + 3 })), t);
    }
    sim.step(t, 60);
  }
  const f = sim.figures();
  return { ...f, nearStale: f.staleByBand[0]! / f.readsByBand[0]! };
}

/** bench:freshness's simulation against what its model implies on paper. */
describe('freshness simulation', () => {
  it('reads days 0–3 stale about as often as 0.2 changes a slot an hour and a 5-minute pull imply', () => {
    const pulled = run({ everyS: 300, hints: false });
    // Mean age about 150 s plus the pull's pacing: 0.2 / 3600 × ~155 s ≈ 0.0086.
    expect(pulled.nearStale).toBeGreaterThan(0.006);
    expect(pulled.nearStale).toBeLessThan(0.012);
    expect(pulled.budgetExceededCalls).toBe(0);
    // Ages at read never pass the interval by more than the pull's own pacing (40 calls at 5/s).
    expect(pulled.nearAges.reduce((a, b) => Math.max(a, b), 0)).toBeLessThan(300 + 10);
  });

  it('leaves a slot never pulled stale once it changed, and hints pull what they name', () => {
    const never = run({ everyS: undefined, hints: false });
    // Unpulled for 2–12 h at 0.2 an hour: 1 − the mean of e^(−0.2 t) over those hours ≈ 0.71.
    expect(never.nearStale).toBeGreaterThan(0.6);
    expect(never.nearStale).toBeLessThan(0.8);
    expect(never.calls).toBe(0);
    const hinted = run({ everyS: undefined, hints: true });
    expect(hinted.hints).toBeGreaterThan(0);
    expect(hinted.hintCalls).toBeGreaterThan(0);
    expect(hinted.nearStale).toBeLessThan(never.nearStale);
    expect(hinted.budgetExceededCalls).toBe(0);
  });
});
