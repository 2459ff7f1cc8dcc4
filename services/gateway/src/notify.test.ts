import { slotTimeBounds, type SlotResult } from '@octo-sync/jobs';
import { createNotifyBodySchema, createReceiveClock, notifyAnswerSchema, presentSlotResult } from './notify';

describe('presentSlotResult: the worker’s result for one change → the notify answer', () => {
  const jobResults: SlotResult[] = [{ updated: true }, { updated: false, stale: true }, { updated: false, full_sync_queued: true }, { updated: false, rejected: true }];

  test.each(jobResults)('%j keeps its wire form and fits the documented answer', (result) => {
    const answer = presentSlotResult(result);
    // The partner sees exactly what it saw before the answer got its own type.
    expect(answer).toEqual(result);
    expect(notifyAnswerSchema.safeParse(answer).success).toBe(true);
    expect(notifyAnswerSchema.safeParse({ results: [answer] }).success).toBe(true);
  });

  test('a field the worker adds to its result does not leak into the HTTP answer', () => {
    // Results come back from Redis as JSON, so nothing stops a worker from sending more than the type says.
    const fromQueue = JSON.parse('{"updated":false,"rejected":true,"reason":"22P02"}') as SlotResult;
    expect(presentSlotResult(fromQueue)).toEqual({ updated: false, rejected: true });
  });
});

describe('createReceiveClock: receive keys from the leased tag', () => {
  test('two gateways with different tags never issue the same key, even in the same microsecond', () => {
    const now = () => 1_700_000_000_000;
    const a = createReceiveClock(() => 1, now);
    const b = createReceiveClock(() => 2, now);
    const keys = [...Array.from({ length: 50 }, a), ...Array.from({ length: 50 }, b)];
    expect(new Set(keys).size).toBe(100);
    expect(keys.every((k) => k % 1000n === 1n || k % 1000n === 2n)).toBe(true);
  });

  test('stamps nothing while no tag is held', () => {
    const clock = createReceiveClock(() => {
      throw new Error('no receive tag');
    });
    expect(() => clock()).toThrow('no receive tag');
  });
});

describe('createNotifyBodySchema: change hints outside the dates a slot can be stored for', () => {
  // 2026-12-07 at noon UTC, keeping 30 days: storable local dates run 2026-11-06 .. 2028-12-08 (a day of slack each side).
  const now = Date.parse('2026-12-07T12:00:00Z');
  const schema = createNotifyBodySchema(() => slotTimeBounds(now, 30));
  const hint = (localDateStart: string, localDateEnd: string) => ({ productId: 'p', localDateStart, localDateEnd });
  const problems = (body: unknown) => {
    const parsed = schema.safeParse(body);
    return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  test('a hint that ends before today minus the retention is refused on localDateEnd', () => {
    expect(problems({ hint: hint('2026-10-01', '2026-11-05') })).toEqual([expect.stringMatching(/^hint\.localDateEnd: must not be before 2026-11-06/)]);
    expect(problems({ hint: hint('2026-10-01', '2026-11-06') })).toEqual([]);
  });

  test('a hint that starts after today plus two years is refused on localDateStart, in either form', () => {
    expect(problems({ hints: [hint('2026-12-08', '2026-12-09'), hint('2028-12-09', '2028-12-10')] })).toEqual([expect.stringMatching(/^hints\.1\.localDateStart: must not be after 2028-12-08/)]);
    expect(problems({ hint: hint('2028-12-08', '2028-12-20') })).toEqual([]);
    expect(problems({ hint: hint('2099-01-01', '2099-01-02') })).toEqual([expect.stringMatching(/^hint\.localDateStart: must not be after/)]);
  });
});
