import type { OptionSnapshot, SameAnswer, SlotCounts } from '@octo-sync/db';
import type { UnparsedAnswer } from './pull-answer';
import { SnapshotWriter, type PullWrites } from './snapshot-writer';

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
  const confirmNone = async (answers: readonly SameAnswer[]): Promise<Array<number | null>> => answers.map(() => null);
  return {
    batches,
    write,
    writes: { reconcile: write, confirm: confirmNone } satisfies PullWrites,
    holdNext: (): void => {
      hold = new Promise<void>((resolve) => (release = resolve));
    },
    release: () => release(),
  };
}

describe('SnapshotWriter', () => {
  it('writes whole answers in batches of about the slot bound, and the rest when settled', async () => {
    const w = recordingWrite();
    const writer = new SnapshotWriter(w.writes, 10);
    for (const [id, slots] of [['a', 4], ['b', 4], ['c', 4], ['d', 12], ['e', 3]] as const) await writer.add(snapshot(id, slots));
    expect(w.batches).toEqual([['a', 'b', 'c'], ['d']]);
    await writer.settled();
    expect(w.batches).toEqual([['a', 'b', 'c'], ['d'], ['e']]);
    expect(writer.result()).toEqual({ created: 27, updated: 0, unchanged: 0, closed: 0 });
  });

  it('holds the answer that fills a batch until the batch before it is written', async () => {
    const w = recordingWrite();
    const writer = new SnapshotWriter(w.writes, 2);
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
    const reconcile = async (batch: readonly OptionSnapshot[]): Promise<SlotCounts[]> => {
      batches.push(batch.map((s) => s.optionId));
      throw new Error('stale fence');
    };
    const writer = new SnapshotWriter({ reconcile, confirm: async () => [] }, 1);
    await writer.add(snapshot('a', 1));
    await expect(writer.add(snapshot('b', 1))).rejects.toThrow('stale fence');
    await expect(writer.add(snapshot('c', 1))).rejects.toThrow('stale fence');
    await writer.settled();
    expect(batches).toEqual([['a']]);
    expect(() => writer.result()).toThrow('stale fence');
  });

  it('confirms unparsed answers first, counts the confirmed ones unchanged, and parses and reconciles the others after, in a write of their own', async () => {
    const steps: string[] = [];
    const unparsed = (optionId: string, slots: number): UnparsedAnswer => ({
      same: { productId: 'p', optionId, from: '2026-01-01', to: '2026-01-31', answerKey: 2n, digest: `d-${optionId}`, currency: null },
      bytes: 100,
      parse: () => {
        steps.push(`parse ${optionId}`);
        return snapshot(optionId, slots);
      },
    });
    const writes: PullWrites = {
      confirm: async (answers) => {
        steps.push(`confirm ${answers.map((a) => a.optionId).join(',')}`);
        return answers.map((a) => (a.optionId === 'moved' ? null : 7));
      },
      reconcile: async (batch) => {
        steps.push(`reconcile ${batch.map((s) => s.optionId).join(',')}`);
        return batch.map((s) => ({ created: 0, updated: s.slots.length, unchanged: 0, closed: 0 }));
      },
    };
    const writer = new SnapshotWriter(writes, 1_000);
    await writer.add(unparsed('same', 7));
    await writer.add(snapshot('changed', 2));
    await writer.add(unparsed('moved', 3));
    await writer.settled();
    expect(steps).toEqual(['confirm same,moved', 'parse moved', 'reconcile changed,moved']);
    expect(writer.result()).toEqual({ created: 0, updated: 5, unchanged: 7, closed: 0 });
  });
});
