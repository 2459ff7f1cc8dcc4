import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Peak resident memory of another process, from /proc (Linux). `reset()` clears the high-water
 * mark (`clear_refs` 5) so each scenario gets its own peak; where that is refused, a poller
 * sampling VmRSS every few milliseconds stands in for it.
 */
export class PeakRss {
  private polled = 0;
  private timer: NodeJS.Timeout | undefined;
  private canReset = true;

  constructor(private readonly pid: number) {}

  private field(name: 'VmHWM' | 'VmRSS'): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    return match?.[1] === undefined ? 0 : Number(match[1]) * 1024;
  }

  current(): number {
    return this.field('VmRSS');
  }

  /** Starts a scenario: forget earlier peaks. */
  reset(): void {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
    } catch {
      this.canReset = false;
    }
    this.polled = this.current();
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      try {
        this.polled = Math.max(this.polled, this.current());
      } catch {
        clearInterval(this.timer);
      }
    }, 5);
    this.timer.unref();
  }

  /** Ends a scenario: the highest resident set size since `reset`, in bytes. */
  peak(): number {
    clearInterval(this.timer);
    const sampled = Math.max(this.polled, this.current());
    return this.canReset ? Math.max(sampled, this.field('VmHWM')) : sampled;
  }
}
