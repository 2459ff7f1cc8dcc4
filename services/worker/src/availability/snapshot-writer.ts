import type { OptionSnapshot, SlotCounts } from '@octo-sync/db';

/**
 * Writes one pull's answers in batches of about `batchSlots` slots while the next answers are
 * fetched: one batch is written while the next one fills. A transaction per answer would cost
 * more than the answer (each pays its round trips and its statements' planning), and most
 * answers change nothing. A lane whose answer fills a batch waits until the batch before it is
 * written, so what waits in memory stays bounded.
 */
export class SnapshotWriter {
  private readonly counts: SlotCounts = { created: 0, updated: 0, unchanged: 0, closed: 0 };
  private filling: OptionSnapshot[] = [];
  private fillingSlots = 0;
  private writing: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly write: (batch: readonly OptionSnapshot[]) => Promise<SlotCounts[]>,
    private readonly batchSlots: number,
  ) {}

  /** Hands an answer in; throws the first write failure instead once one happened. */
  async add(snapshot: OptionSnapshot): Promise<void> {
    this.throwIfFailed();
    this.filling.push(snapshot);
    this.fillingSlots += snapshot.slots.length;
    if (this.fillingSlots < this.batchSlots) return;
    const previous = this.writing;
    this.queueFilling();
    await previous;
    this.throwIfFailed();
  }

  /** Writes what is still filling and waits for every write; never throws (see {@link result}). */
  async settled(): Promise<void> {
    if (this.filling.length > 0) this.queueFilling();
    await this.writing;
  }

  /** After {@link settled}: the counts of every answer written, or the first write failure. */
  result(): SlotCounts {
    this.throwIfFailed();
    return this.counts;
  }

  /** Queues the filling batch behind the writes before it. */
  private queueFilling(): void {
    const batch = this.filling;
    this.filling = [];
    this.fillingSlots = 0;
    this.writing = this.writing.then(() => this.writeBatch(batch));
  }

  private async writeBatch(batch: readonly OptionSnapshot[]): Promise<void> {
    if (this.failure) return;
    try {
      for (const counts of await this.write(batch)) {
        for (const key of Object.keys(counts) as Array<keyof SlotCounts>) this.counts[key] += counts[key];
      }
    } catch (error: unknown) {
      this.failure = { error };
    }
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
