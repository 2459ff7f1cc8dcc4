import { GroupCommit } from './group-commit';

/** A batch function that records each batch and answers each item with itself. */
function recorder() {
  const batches: string[][] = [];
  let release: () => void = () => undefined;
  let gate: Promise<void> = Promise.resolve();
  return {
    batches,
    /** Holds the next batch until `release()` so that callers pile up behind it. */
    hold() {
      gate = new Promise((resolve) => (release = resolve));
    },
    release: () => release(),
    apply: async (items: readonly string[]) => {
      batches.push([...items]);
      await gate;
      return items.map((item) => `done:${item}`);
    },
  };
}

describe('GroupCommit', () => {
  test('callers that arrive together share a batch; each gets its own results', async () => {
    const r = recorder();
    const commit = new GroupCommit(r.apply, 100);
    const [a, b] = await Promise.all([commit.submit(['a1', 'a2']), commit.submit(['b1'])]);
    expect(a).toEqual(['done:a1', 'done:a2']);
    expect(b).toEqual(['done:b1']);
    expect(r.batches).toEqual([['a1', 'a2', 'b1']]);
  });

  test('a failed batch fails its callers only; the next batch runs', async () => {
    let calls = 0;
    const commit = new GroupCommit(async (items: readonly string[]) => {
      calls++;
      if (calls === 1) throw new Error('first batch fails');
      return items.map((item) => item.toUpperCase());
    }, 100);
    const first = commit.submit(['x']);
    await expect(first).rejects.toThrow('first batch fails');
    await expect(commit.submit(['y'])).resolves.toEqual(['Y']);
  });

  test('tenants take turns: a tenant with many callers waiting cannot fill every batch', async () => {
    const r = recorder();
    const commit = new GroupCommit(r.apply, 4);
    r.hold();
    const first = commit.submit(['noisy-0'], 'noisy');
    await new Promise((resolve) => setImmediate(resolve));
    // While the first batch is held, the noisy tenant queues 8 callers, then a quiet one arrives.
    const noisy = Array.from({ length: 8 }, (_, i) => commit.submit([`noisy-${i + 1}`], 'noisy'));
    const quiet = commit.submit(['quiet-1'], 'quiet');
    r.release();
    await Promise.all([first, ...noisy, quiet]);
    expect(r.batches[0]).toEqual(['noisy-0']);
    // The quiet caller is in the very next batch, not behind the noisy tenant's eight.
    expect(r.batches[1]).toEqual(['noisy-1', 'quiet-1', 'noisy-2', 'noisy-3']);
    // Each tenant's callers stay in arrival order across batches.
    expect(r.batches.flat().filter((item) => item.startsWith('noisy'))).toEqual(Array.from({ length: 9 }, (_, i) => `noisy-${i}`));
  });

  test('a caller larger than maxBatch still goes through, alone', async () => {
    const r = recorder();
    const commit = new GroupCommit(r.apply, 2);
    await Promise.all([commit.submit(['a', 'b', 'c']), commit.submit(['d'])]);
    expect(r.batches).toEqual([['a', 'b', 'c'], ['d']]);
  });
});
