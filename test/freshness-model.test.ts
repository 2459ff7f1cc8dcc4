import { BudgetMeter, BudgetPacer, bandDays, bandOf, poisson, quantile, seededRandom } from '../bench/lib/freshness-model';

/** bench:freshness's pure parts: what its figures rest on must hold on its own. */
describe('freshness model', () => {
  it('splits the 90 days into the bands the reads and change rates are given for', () => {
    expect([0, 3, 4, 30, 31, 89].map(bandOf)).toEqual([0, 0, 1, 1, 2, 2]);
    expect([bandDays(0), bandDays(1), bandDays(2)]).toEqual([
      { from: 0, to: 3 },
      { from: 4, to: 30 },
      { from: 31, to: 89 },
    ]);
  });

  it('draws Poisson counts with the asked mean, the same stream for the same seed', () => {
    const random = seededRandom(7);
    const draws = Array.from({ length: 20_000 }, () => poisson(random, 3.2));
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    expect(mean).toBeGreaterThan(3.1);
    expect(mean).toBeLessThan(3.3);
    const a = seededRandom(1);
    const b = seededRandom(1);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
  });

  it('meters calls beyond the rate (a bucket of one second) or beyond the concurrency', () => {
    const budget = { requestsPerSecond: 5, concurrency: 4 };
    const burst = new BudgetMeter(budget);
    // Six calls at once: the bucket holds five tokens, and only four may be in flight.
    for (let i = 0; i < 6; i++) burst.record(0, 0.001);
    expect(burst.exceeded).toBe(2);
    const rate = new BudgetMeter(budget);
    // Ten calls a second, each ending at once: after the first second's five tokens, every other call is over.
    for (let i = 0; i < 100; i++) rate.record(i / 10, i / 10 + 0.001);
    expect(rate.exceeded).toBeGreaterThan(40);
    const within = new BudgetMeter(budget);
    for (let i = 0; i < 100; i++) within.record(i / 5, i / 5 + 0.1);
    expect(within.exceeded).toBe(0);
  });

  it('paces any burst of calls within the budget, at its rate once the bucket is empty', () => {
    const budget = { requestsPerSecond: 5, concurrency: 4 };
    const pacer = new BudgetPacer(budget, 0.3);
    const meter = new BudgetMeter(budget);
    const starts: number[] = [];
    for (const askedAt of [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 30]) {
      const start = pacer.start(askedAt);
      starts.push(start);
      meter.record(start, start + 0.3);
    }
    expect(meter.exceeded).toBe(0);
    // 40 calls asked at once: the first four at once (concurrency), then one per 0.2 s.
    expect(starts.slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(starts[39]).toBeGreaterThan(6.5);
    expect(starts[39]).toBeLessThan(8.5);
    // Calls asked while that pull is still being paced wait behind it; one asked later starts at once.
    expect(starts[40]).toBeGreaterThan(starts[39]!);
    expect(starts[42]).toBe(30);
  });

  it('takes the nearest-rank quantile', () => {
    expect(quantile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(quantile(Float64Array.from({ length: 100 }, (_, i) => 100 - i), 0.99)).toBe(99);
    expect(quantile([], 0.5)).toBeNaN();
  });
});
