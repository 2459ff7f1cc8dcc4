import { GroupCommit, KeyedGroupCommit } from './group-commit';

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

/** Lets every callback already queued run (setImmediate comes after pending promise jobs). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A batch function whose every batch waits until the test opens it: `open(n)` lets the n-th batch (from 0) finish. */
function gated(fail: (items: readonly string[]) => boolean = () => false) {
  const batches: string[][] = [];
  const gates: Array<{ promise: Promise<void>; open: () => void }> = [];
  const gate = (n: number) => {
    while (gates.length <= n) {
      let open = (): void => undefined;
      const promise = new Promise<void>((resolve) => (open = resolve));
      gates.push({ promise, open });
    }
    return gates[n]!;
  };
  return {
    batches,
    open: (n: number) => gate(n).open(),
    apply: async (items: readonly string[]) => {
      const n = batches.push([...items]) - 1;
      await gate(n).promise;
      if (fail(items)) throw new Error(`batch ${n} fails`);
      return items.map((item) => `done:${item}`);
    },
  };
}

describe('GroupCommit: ordering', () => {
  test('callers are answered in arrival order, each with the results of its own items', async () => {
    const g = gated();
    const commit = new GroupCommit(g.apply, 3);
    const answered: string[] = [];
    const submit = (name: string, items: string[]) => commit.submit(items).then((results) => (answered.push(name), results));
    const first = submit('first', ['f']);
    await nextTurn();
    // While the first batch is held, five callers of one or two items queue behind it.
    const later = ['a', 'b', 'c', 'd', 'e'].map((name, i) => submit(name, i % 2 === 0 ? [`${name}1`] : [`${name}1`, `${name}2`]));
    for (let n = 0; n < 4; n++) g.open(n);
    const results = await Promise.all([first, ...later]);
    expect(answered).toEqual(['first', 'a', 'b', 'c', 'd', 'e']);
    expect(results).toEqual([['done:f'], ['done:a1'], ['done:b1', 'done:b2'], ['done:c1'], ['done:d1', 'done:d2'], ['done:e1']]);
    // Items reach the batch function in arrival order too, callers whole, batches of at most 3 items.
    expect(g.batches).toEqual([['f'], ['a1', 'b1', 'b2'], ['c1', 'd1', 'd2'], ['e1']]);
  });
});

describe('GroupCommit: error isolation', () => {
  test('a failed batch fails exactly its callers; callers queued behind it get their results', async () => {
    const g = gated((items) => items.includes('bad'));
    const commit = new GroupCommit(g.apply, 2);
    const first = commit.submit(['ok-0']);
    await nextTurn();
    const doomed = [commit.submit(['bad']), commit.submit(['x'])];
    const behind = commit.submit(['y']);
    for (let n = 0; n < 3; n++) g.open(n);
    await expect(first).resolves.toEqual(['done:ok-0']);
    await expect(doomed[0]).rejects.toThrow('batch 1 fails');
    await expect(doomed[1]).rejects.toThrow('batch 1 fails');
    await expect(behind).resolves.toEqual(['done:y']);
    expect(g.batches).toEqual([['ok-0'], ['bad', 'x'], ['y']]);
  });
});

describe('GroupCommit: drain', () => {
  test('resolves at once when nothing is waiting', async () => {
    const commit = new GroupCommit(async (items: readonly string[]) => [...items], 10);
    await expect(commit.drain()).resolves.toBeUndefined();
  });

  test('resolves only once every caller submitted before it is answered, failed batches included', async () => {
    const g = gated((items) => items.includes('bad'));
    const commit = new GroupCommit(g.apply, 1);
    const answered = new Set<string>();
    const track = (name: string, promise: Promise<unknown>) =>
      promise.then(
        () => answered.add(name),
        () => answered.add(name),
      );
    const callers = [track('a', commit.submit(['a'])), track('bad', commit.submit(['bad'])), track('c', commit.submit(['c']))];
    let drained = false;
    const drain = commit.drain().then(() => (drained = true));
    g.open(0);
    g.open(1);
    await callers[1];
    // Two of three answered: the third caller's batch is still held, so the drain waits.
    await nextTurn();
    expect(drained).toBe(false);
    g.open(2);
    await drain;
    expect([...answered].sort()).toEqual(['a', 'bad', 'c']);
  });

  test('does not wait for callers that arrive after it', async () => {
    const g = gated();
    const commit = new GroupCommit(g.apply, 10);
    const early = commit.submit(['early']);
    await nextTurn();
    const drain = commit.drain();
    const late = commit.submit(['late']);
    g.open(0);
    await drain;
    await expect(early).resolves.toEqual(['done:early']);
    // The late caller's batch is still held: draining did not wait for it.
    let lateAnswered = false;
    void late.then(() => (lateAnswered = true));
    await nextTurn();
    expect(lateAnswered).toBe(false);
    g.open(1);
    await expect(late).resolves.toEqual(['done:late']);
  });
});

describe('KeyedGroupCommit', () => {
  /** Per key, a {@link gated} batch function. */
  function keyed(fail: (items: readonly string[]) => boolean = () => false) {
    const byKey = new Map<string, ReturnType<typeof gated>>();
    const of = (key: string) => {
      if (!byKey.has(key)) byKey.set(key, gated(fail));
      return byKey.get(key)!;
    };
    return { of, apply: (key: string, items: readonly string[]) => of(key).apply(items) };
  }

  test('keys run independently: a held batch of one key does not delay another key', async () => {
    const k = keyed();
    const commit = new KeyedGroupCommit(k.apply, 10);
    const slow = commit.submit('slow', ['s1']);
    k.of('fast').open(0);
    await expect(commit.submit('fast', ['f1'])).resolves.toEqual(['done:f1']);
    expect(k.of('slow').batches).toEqual([['s1']]);
    k.of('slow').open(0);
    await expect(slow).resolves.toEqual(['done:s1']);
  });

  test("a key's batches run one after the other, callers in arrival order", async () => {
    const k = keyed();
    const commit = new KeyedGroupCommit(k.apply, 10);
    const first = commit.submit('a', ['1']);
    await nextTurn();
    const rest = [commit.submit('a', ['2']), commit.submit('a', ['3', '4'])];
    await nextTurn();
    // The key's second batch has not started while its first is held.
    expect(k.of('a').batches).toEqual([['1']]);
    k.of('a').open(0);
    k.of('a').open(1);
    expect(await Promise.all([first, ...rest])).toEqual([['done:1'], ['done:2'], ['done:3', 'done:4']]);
    expect(k.of('a').batches).toEqual([['1'], ['2', '3', '4']]);
  });

  test("a failed batch fails its key's callers only; other keys and the key's next batch are unaffected", async () => {
    const k = keyed((items) => items.includes('bad'));
    const commit = new KeyedGroupCommit(k.apply, 10);
    const doomed = [commit.submit('a', ['bad']), commit.submit('a', ['a2'])];
    const other = commit.submit('b', ['b1']);
    k.of('a').open(0);
    k.of('b').open(0);
    await expect(doomed[0]).rejects.toThrow('batch 0 fails');
    await expect(doomed[1]).rejects.toThrow('batch 0 fails');
    await expect(other).resolves.toEqual(['done:b1']);
    k.of('a').open(1);
    await expect(commit.submit('a', ['a3'])).resolves.toEqual(['done:a3']);
  });
});
