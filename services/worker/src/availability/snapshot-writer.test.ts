import type { OptionSnapshot, SlotCounts } from '@octo-sync/db';
import { SnapshotWriter } from './snapshot-writer';

const snapshot = (optionId: string, slots: number): OptionSnapshot => ({
  productId: 'p',
  optionId,
  from: '2026-01-01',
  to: '2026-01-31',
  answerKey: 1n,
  slots: Array.from({ length: slots }, (_v, i) => ({ availability_id: `${optionId}-${i}`, local_date_time_start: null, starts_at: null, status: 'AVAILABLE', vacancies: 1, capacity: 1, raw: {} })),
});

/** A write that records its batches and answers each snapshot as created; `release()` lets a held write finish. */
function recordingWrite() {
  const batches: string[][] = [];
  let hold: Promise<void> | undefined;
  let release = (): void => undefined;
  const write = async (batch: readonly OptionSnapshot[]): Promise<SlotCounts[]> => {
    batches.push(batch.map((s) => s.optionId));
    await hold;
    return batch.map((s) => ({ created: s.slots.length, updated: 0, unchanged: 0, closed: 0 }));
  };
  return {
    batches,
    write,
    holdNext: (): void => {
      hold = new Promise<void>((resolve) => (release = resolve));
    },
    release: () => release(),
  };
}

describe('SnapshotWriter', () => {
  it('writes whole answers in batches of about the slot bound, and the rest when settled', async () => {
    const w = recordingWrite();
    const writer = new SnapshotWriter(w.write, 10);
    for (const [id, slots] of [['a', 4], ['b', 4], ['c', 4], ['d', 12], ['e', 3]] as const) await writer.add(snapshot(id, slots));
    expect(w.batches).toEqual([['a', 'b', 'c'], ['d']]);
    await writer.settled();
    expect(w.batches).toEqual([['a', 'b', 'c'], ['d'], ['e']]);
    expect(writer.result()).toEqual({ created: 27, updated: 0, unchanged: 0, closed: 0 });
  });

  it('holds the answer that fills a batch until the batch before it is written', async () => {
    const w = recordingWrite();
    const writer = new SnapshotWriter(w.write, 2);
    w.holdNext();
    await writer.add(snapshot('a', 2));
    const second = writer.add(snapshot('b', 2));
    const state = await Promise.race([second.then(() => 'returned'), new Promise((resolve) => setImmediate(() => resolve('waiting')))]);
    expect(state).toBe('waiting');
    w.release();
    await second;
    await writer.settled();
    expect(w.batches).toEqual([['a'], ['b']]);
  });

  it('stops at the first failed write: later answers are refused and not written, and the result is the failure', async () => {
    const batches: string[][] = [];
    const writer = new SnapshotWriter(async (batch) => {
      batches.push(batch.map((s) => s.optionId));
      throw new Error('stale fence');
    }, 1);
    await writer.add(snapshot('a', 1));
    await expect(writer.add(snapshot('b', 1))).rejects.toThrow('stale fence');
    await expect(writer.add(snapshot('c', 1))).rejects.toThrow('stale fence');
    await writer.settled();
    expect(batches).toEqual([['a']]);
    expect(() => writer.result()).toThrow('stale fence');
  });
});
