import { performance } from 'node:perf_hooks';
import type { Job } from 'bullmq';
import type { SyncProgress } from '@octo-sync/jobs';
import type { Logger } from '@octo-sync/platform';

/**
 * Keeps a running sync's progress in its BullMQ job (Redis, never the run's rows or its write
 * transaction), written at most once per `intervalMs`: the read and write loops report as often as
 * they like and pay a clock read for it; a write never waits for Redis.
 */
export class SyncProgressReporter {
  private readonly state: SyncProgress = { bytes_received: 0, bytes_expected: null, products_processed: 0, products_total: null };
  private lastWrite = -Infinity;
  private writing = false;
  /** A write that had to happen came while another was in flight. */
  private owed = false;

  constructor(
    private readonly job: Pick<Job, 'updateProgress'>,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  /** The body so far, and its declared length (null without one). */
  received(bytes: number, expected: number | null): void {
    this.state.bytes_received = bytes;
    this.state.bytes_expected = expected;
    this.write(false);
  }

  /** Products read, checked and handed to the writer so far, of `total`. */
  processed(products: number, total: number): void {
    this.state.products_processed = products;
    this.state.products_total = total;
    // The first count after the body is in shows at once: it tells the reader the phase changed.
    this.write(products === 0);
  }

  /** `now`: write regardless of the interval (after the write in flight, if there is one). */
  private write(now: boolean): void {
    if (this.writing) {
      this.owed ||= now;
      return;
    }
    const at = performance.now();
    if (!now && at - this.lastWrite < this.intervalMs) return;
    this.lastWrite = at;
    this.writing = true;
    this.job.updateProgress({ ...this.state }).then(
      () => this.written(),
      (err: unknown) => {
        // Only the display lags: the run itself does not depend on Redis taking this write.
        this.log.debug({ err }, 'sync progress not recorded');
        this.written();
      },
    );
  }

  private written(): void {
    this.writing = false;
    if (!this.owed) return;
    this.owed = false;
    this.write(true);
  }
}
