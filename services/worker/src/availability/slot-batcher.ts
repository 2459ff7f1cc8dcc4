/**
 * Group commit for slot changes: every job hands its changes in and waits; whatever arrived while
 * the previous batch was being written goes to the database together, in one statement. Under a
 * trickle each job is written on its own, at once; under load the batches grow by themselves
 * (up to `maxBatch` changes), which is what keeps thousands of changes per second cheap.
 */
export class SlotBatcher<Item, Result> {
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
        // Let the jobs that are being fetched right now join the first batch.
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
        // The whole statement failed: every job in it fails and BullMQ retries each one.
        for (const entry of batch) entry.reject(err);
      }
    }
    this.running = false;
  }
}
