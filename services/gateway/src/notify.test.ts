import type { SlotResult } from '@octo-sync/jobs';
import { createReceiveClock, notifyAnswerSchema, presentSlotResult } from './notify';

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
