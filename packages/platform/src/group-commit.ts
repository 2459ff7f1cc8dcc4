/**
 * Group commit: callers hand items in and wait for their results; whatever arrives while the
 * previous batch is being handled goes into the next batch, together. Under a trickle every
 * caller's items are handled on their own, at once (no added latency); under load the batches grow
 * by themselves, up to `maxBatch` items, which is what makes thousands of small writes per second
 * cheap. A caller's items are never split across batches.
 */
export class GroupCommit<Item, Result> {
  private queue: Array<{ items: readonly Item[]; resolve: (results: Result[]) => void; reject: (err: unknown) => void }> = [];
  private running = false;

  constructor(
    private readonly applyBatch: (items: readonly Item[]) => Promise<Result[]>,
    private readonly maxBatch: number,
  ) {}

  submit(items: readonly Item[]): Promise<Result[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      if (!this.running) {
        this.running = true;
        // Let the callers that are arriving right now join the first batch.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch: typeof this.queue = [];
      let size = 0;
      while (this.queue.length > 0 && (batch.length === 0 || size + this.queue[0]!.items.length <= this.maxBatch)) {
        const next = this.queue.shift()!;
        batch.push(next);
        size += next.items.length;
      }
      try {
        const results = await this.applyBatch(batch.flatMap((b) => b.items));
        let offset = 0;
        for (const entry of batch) {
          entry.resolve(results.slice(offset, offset + entry.items.length));
          offset += entry.items.length;
        }
      } catch (err) {
        // The whole batch failed: every caller in it gets the error (and decides what to do).
        for (const entry of batch) entry.reject(err);
      }
    }
    this.running = false;
  }
}

/**
 * One {@link GroupCommit} per key (an integration, a counter…): batches form per key, each key's
 * batches run one after the other, different keys run independently. A key's group exists only
 * while it has callers, so keys never accumulate.
 */
export class KeyedGroupCommit<Item, Result> {
  private readonly groups = new Map<string, { commit: GroupCommit<Item, Result>; pending: number }>();

  constructor(
    private readonly applyBatch: (key: string, items: readonly Item[]) => Promise<Result[]>,
    private readonly maxBatch: number,
  ) {}

  async submit(key: string, items: readonly Item[]): Promise<Result[]> {
    let group = this.groups.get(key);
    if (!group) {
      group = { commit: new GroupCommit((batch) => this.applyBatch(key, batch), this.maxBatch), pending: 0 };
      this.groups.set(key, group);
    }
    group.pending += 1;
    try {
      return await group.commit.submit(items);
    } finally {
      group.pending -= 1;
      if (group.pending === 0 && this.groups.get(key) === group) this.groups.delete(key);
    }
  }
}
