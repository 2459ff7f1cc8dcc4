import type { SlotResult } from '@octo-sync/jobs';
import { notifyAnswerSchema, presentSlotResult } from './notify';

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
