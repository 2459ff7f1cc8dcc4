import type { RunWarning, RunWarnings } from '@octo-sync/db';
import { printableId, type ProductQuarantine } from '@octo-sync/octo';

/** A run's warnings, capped: the first `max` are kept, the rest only counted. */
export class RunWarningList {
  private readonly items: RunWarning[] = [];
  private omitted = 0;

  constructor(private readonly max: number) {}

  add(warning: RunWarning): void {
    if (this.items.length < this.max) this.items.push(warning);
    else this.omitted += 1;
  }

  /** A quarantined product, with its id made safe to store. */
  addQuarantine(quarantine: ProductQuarantine): void {
    this.add({ product_id: quarantine.productId === undefined ? null : printableId(quarantine.productId), path: quarantine.path, reason: quarantine.reason });
  }

  /** True once anything was added (kept or only counted). */
  get any(): boolean {
    return this.items.length + this.omitted > 0;
  }

  /** What the run records: null when there is nothing to report. */
  stored(): RunWarnings | null {
    return this.any ? { items: this.items, omitted: this.omitted } : null;
  }
}
