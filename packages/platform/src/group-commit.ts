import { AsyncResource } from 'node:async_hooks';

interface Waiting<Item, Result> {
  items: readonly Item[];
  /** The caller's async context: its batch runs in the first caller's (see {@link GroupCommit}). */
  scope: AsyncResource;
  /** Callers of one tenant share a tenant; batches take tenants in turn. */
  tenant: string;
  resolve: (results: Result[]) => void;
  reject: (err: unknown) => void;
  /** Resolves when the caller has been answered, either way (what {@link GroupCommit.drain} waits on). */
  answered: Promise<void>;
  markAnswered: () => void;
}

/**
 * Group commit: callers hand items in and wait for their results; whatever arrives while the
 * previous batch is being handled goes into the next batch, together. Under a trickle every
 * caller's items are handled on their own, at once (no added latency); under load the batches grow
 * by themselves, up to `maxBatch` items, which is what makes thousands of small writes per second
 * cheap. A caller's items are never split across batches.
 *
 * A batch runs in the async context of its first caller, so that a tracer files its statements
 * under that caller's trace: the loop that handles batch after batch under load was started by
 * one caller, and would otherwise give every batch to that one.
 *
 * Fairness: a batch takes the waiting callers of each tenant in turn (round robin, each tenant's
 * callers in arrival order), so a tenant with a thousand callers waiting cannot fill every batch
 * while another tenant's one caller waits behind them.
 */
export class GroupCommit<Item, Result> {
  private queue: Array<Waiting<Item, Result>> = [];
  /** Callers not answered yet: those queued and those in the batch being handled. */
  private readonly unanswered = new Set<Waiting<Item, Result>>();
  private running = false;

  constructor(
    private readonly applyBatch: (items: readonly Item[]) => Promise<Result[]>,
    private readonly maxBatch: number,
  ) {}

  submit(items: readonly Item[], tenant = ''): Promise<Result[]> {
    return new Promise((resolve, reject) => {
      let markAnswered = (): void => undefined;
      const answered = new Promise<void>((done) => (markAnswered = done));
      const waiting = { items, tenant, scope: new AsyncResource('GroupCommit.submit'), resolve, reject, answered, markAnswered };
      this.queue.push(waiting);
      this.unanswered.add(waiting);
      if (!this.running) {
        this.running = true;
        // Let the callers that are arriving right now join the first batch.
        setImmediate(() => void this.run());
      }
    });
  }

  /**
   * Resolves once every caller that submitted before this call has been answered (results or
   * error); callers arriving meanwhile are not waited for. For shutdown: nothing handed in is
   * dropped half-way when the resources the batches use are closed next.
   */
  async drain(): Promise<void> {
    await Promise.all([...this.unanswered].map((waiting) => waiting.answered));
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.nextBatch();
      try {
        const items = batch.flatMap((b) => b.items);
        const results = await batch[0]!.scope.runInAsyncScope(() => this.applyBatch(items));
        let offset = 0;
        for (const entry of batch) {
          entry.resolve(results.slice(offset, offset + entry.items.length));
          offset += entry.items.length;
        }
      } catch (err) {
        // The whole batch failed: every caller in it gets the error (and decides what to do).
        for (const entry of batch) entry.reject(err);
      }
      for (const entry of batch) {
        this.unanswered.delete(entry);
        entry.markAnswered();
      }
    }
    this.running = false;
  }

  /** Takes callers off the queue, tenants in turn, until the next one would overflow `maxBatch`. */
  private nextBatch(): Array<Waiting<Item, Result>> {
    const byTenant = new Map<string, Array<Waiting<Item, Result>>>();
    for (const waiting of this.queue) {
      const line = byTenant.get(waiting.tenant);
      if (line) line.push(waiting);
      else byTenant.set(waiting.tenant, [waiting]);
    }
    const lines = [...byTenant.values()];
    const batch: Array<Waiting<Item, Result>> = [];
    let size = 0;
    for (let round = 0, full = false; !full && lines.some((line) => line.length > round); round++) {
      for (const line of lines) {
        const next = line[round];
        if (next === undefined) continue;
        if (batch.length > 0 && size + next.items.length > this.maxBatch) {
          full = true;
          break;
        }
        batch.push(next);
        size += next.items.length;
      }
    }
    const taken = new Set(batch);
    this.queue = this.queue.filter((waiting) => !taken.has(waiting));
    return batch;
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
