import type { OptionSnapshot, SameAnswer, SlotCounts } from '@octo-sync/db';
import type { UnparsedAnswer } from './pull-answer';

/** The pull's two writes, each one fenced transaction. */
export interface PullWrites {
  /** Reconciles snapshots with the stored slots of their windows; counts per snapshot, in order. */
  reconcile(batch: readonly OptionSnapshot[]): Promise<SlotCounts[]>;
  /** Confirms answers the same as their option's mark (marks only); per answer the slots confirmed, or null. */
  confirm(answers: readonly SameAnswer[]): Promise<Array<number | null>>;
}

/**
 * What an unparsed answer weighs in a batch: its bytes, counted as slots of this many bytes (five
 * times a slot's JSON: it is neither parsed nor written, only its window counted). A batch then
 * holds at most about 4 MB of answers, and is big enough that the fetch lanes rarely wait for the
 * confirmation before it (a transaction's round trips), small enough that the last one, written
 * after the last answer arrived, stays short.
 */
const UNPARSED_BYTES_PER_SLOT = 2_000;

const isUnparsed = (answer: OptionSnapshot | UnparsedAnswer): answer is UnparsedAnswer => 'same' in answer;

/**
 * Writes one pull's answers in batches of about `batchSlots` slots while the next answers are
 * fetched: one batch is written while the next one fills. A transaction per answer would cost
 * more than the answer (each pays its round trips and its statements' planning), and most
 * answers change nothing. A lane whose answer fills a batch waits until the batch before it is
 * written, so what waits in memory stays bounded. A batch's answers the same as their last
 * (unparsed) are confirmed first, in a transaction that locks pull marks only; those the database
 * does not confirm (their window changed since) are parsed and reconciled with the rest, in a
 * transaction of their own, so that no transaction locks a mark before a slot.
 */
export class SnapshotWriter {
  private readonly counts: SlotCounts = { created: 0, updated: 0, unchanged: 0, closed: 0 };
  private filling: Array<OptionSnapshot | UnparsedAnswer> = [];
  private fillingSlots = 0;
  private writing: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly writes: PullWrites,
    private readonly batchSlots: number,
  ) {}

  /** Hands an answer in; throws the first write failure instead once one happened. */
  async add(answer: OptionSnapshot | UnparsedAnswer): Promise<void> {
    this.throwIfFailed();
    this.filling.push(answer);
    this.fillingSlots += isUnparsed(answer) ? Math.ceil(answer.bytes / UNPARSED_BYTES_PER_SLOT) : answer.slots.length;
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

  private async writeBatch(batch: ReadonlyArray<OptionSnapshot | UnparsedAnswer>): Promise<void> {
    if (this.failure) return;
    try {
      const unparsed = batch.filter(isUnparsed);
      const snapshots = [...batch.filter((answer): answer is OptionSnapshot => !isUnparsed(answer)), ...(await this.confirm(unparsed))];
      if (snapshots.length === 0) return;
      for (const counts of await this.writes.reconcile(snapshots)) {
        for (const key of Object.keys(counts) as Array<keyof SlotCounts>) this.counts[key] += counts[key];
      }
    } catch (error: unknown) {
      this.failure = { error };
    }
  }

  /** Confirms `answers` by their marks; returns those the database did not confirm, parsed. */
  private async confirm(answers: readonly UnparsedAnswer[]): Promise<OptionSnapshot[]> {
    if (answers.length === 0) return [];
    const confirmed = await this.writes.confirm(answers.map((answer) => answer.same));
    const rest: OptionSnapshot[] = [];
    answers.forEach((answer, i) => {
      const slots = confirmed[i] ?? null;
      if (slots !== null) this.counts.unchanged += slots;
      else {
        const snapshot = answer.parse();
        if (snapshot) rest.push(snapshot);
      }
    });
    return rest;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
