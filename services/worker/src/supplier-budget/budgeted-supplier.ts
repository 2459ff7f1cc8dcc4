import { setTimeout as sleep } from 'node:timers/promises';
import type { Integration } from '@octo-sync/db';
import type { BudgetSettings, SupplierBudget } from '@octo-sync/jobs';
import { isSupplierError, SupplierError, type SupplierClient } from '@octo-sync/octo';
import { AppError } from '@octo-sync/platform';
import type { BudgetConfig } from './budget-config';

/** What a kind of call does when the budget makes it wait longer than `inlineWaitMs`, or is held by throttling. */
export interface CallPolicy {
  /** `yield`: a run gives its worker slot back ({@link ThrottleYield}); `refuse`: the call fails at once ({@link BudgetHeldError}). */
  onLongWait: 'yield' | 'refuse';
  /** False: a budget held or lowered by throttling refuses the call (a health probe is then "not probed"). */
  waitWhenSlowed: boolean;
  /**
   * True (health probes): an answer in `throttle_statuses` other than 429 is throttling only when
   * it says when to come back (`Retry-After`); without, it is the supplier failing (a load
   * balancer with no healthy target answers 503 so), which a probe must see.
   */
  throttleNeedsRetryAfter?: boolean;
}

/** A run's calls must wait longer than a worker slot should be held: its job is delayed until `resumeAt`. */
export class ThrottleYield extends AppError {
  constructor(readonly resumeAt: number) {
    super('SUPPLIER_THROTTLE_WAIT', 'supplier budget held: the run waits for it without its worker slot', { expected: true });
  }
}

/** A run whose calls waited, or would have to wait, on a throttling supplier longer than `THROTTLE_MAX_MS`: retrying cannot help now. */
class SupplierThrottledError extends AppError {
  readonly retryable = false;
  private constructor(what: string) {
    super(
      'SUPPLIER_THROTTLED',
      `${what} (answers with a status in supplier_budget.throttle_statuses); ` +
        'lower supplier_budget.requests_per_second, or, when that status means something else for this supplier (such as 403 for revoked credentials), remove it from throttle_statuses',
      { expected: true },
    );
  }

  static waited(throttledMs: number): SupplierThrottledError {
    return new SupplierThrottledError(`the supplier kept throttling our calls for ${Math.round(throttledMs / 1000)} s`);
  }

  static asked(retryAfterMs: number): SupplierThrottledError {
    return new SupplierThrottledError(`the supplier asked to wait ${Math.ceil(retryAfterMs / 1000)} s (Retry-After), longer than a run may be throttled`);
  }
}

/** A call refused because the budget is held (`refuse` policy): a supplier error, so a conformance check reports it. */
export class BudgetHeldError extends SupplierError {
  constructor(waitMs: number) {
    super('SUPPLIER_RATE_LIMITED', `the supplier's request budget is held (throttled or spent); calls resume in ${Math.ceil(waitMs / 1000)} s`, { retryAfterMs: waitMs });
  }
}

/** The budget an integration sets. */
function budgetOf(integration: Pick<Integration, 'supplierRequestsPerSecond' | 'supplierConcurrency'>): BudgetSettings {
  return { requestsPerSecond: integration.supplierRequestsPerSecond, concurrency: integration.supplierConcurrency };
}

type BudgetedIntegration = Pick<Integration, 'id' | 'supplierRequestsPerSecond' | 'supplierConcurrency' | 'supplierThrottleStatuses'>;

/** Told of each throttled answer and of each wait a slowed budget imposed. */
export interface ThrottleReport {
  throttled(): void;
  waited(ms: number): void;
}

/** What every job's budgeted calls share. */
export interface BudgetDeps {
  budget: SupplierBudget;
  config: BudgetConfig;
  report: ThrottleReport;
}

/**
 * The calls of one job to one supplier: each takes a permit of the supplier's shared budget
 * (waiting for it), and an answer with a throttling status slows the budget and is retried once
 * the supplier's resume time has passed, without failing the call. `throttledMs` is the time
 * this job's calls waited on a slowed budget (overlapping waits count once).
 */
export class BudgetedCalls {
  private waitedUntil = 0;

  /** Throttled time of the run so far, earlier pick-ups of its job included. */
  throttledMs: number;
  private readonly budget: SupplierBudget;
  private readonly config: BudgetConfig;
  private readonly report: ThrottleReport;

  constructor(
    deps: BudgetDeps,
    private readonly integration: BudgetedIntegration,
    private readonly policy: CallPolicy,
    private readonly signal: AbortSignal | undefined,
    throttledBefore = 0,
  ) {
    this.budget = deps.budget;
    this.config = deps.config;
    this.report = deps.report;
    this.throttledMs = throttledBefore;
  }

  async call<T>(fn: () => Promise<T>): Promise<T> {
    const { id } = this.integration;
    for (;;) {
      const permit = await this.budget.permit(id, budgetOf(this.integration));
      if (!permit.granted) {
        await this.wait(permit.waitMs, permit.slowed);
        continue;
      }
      try {
        return await fn();
      } catch (error: unknown) {
        if (!this.isThrottle(error)) throw error;
        this.report.throttled();
        await this.budget.throttled(id, error.retryAfterMs);
        this.refuseHopelessWait(error.retryAfterMs);
      } finally {
        await this.budget.release(id, permit.lease);
      }
    }
  }

  private isThrottle(error: unknown): error is SupplierError {
    if (!isSupplierError(error) || error.status === undefined || !this.integration.supplierThrottleStatuses.includes(error.status)) return false;
    return !this.policy.throttleNeedsRetryAfter || error.status === 429 || error.retryAfterMs !== undefined;
  }

  /**
   * A run asked to wait longer than it may still be throttled fails now, not after parking its job
   * that long (the budget holds the supplier's calls for at most `THROTTLE_MAX_MS` anyway). Only a
   * run waits a throttle out: a refusing call (a probe) is refused by its next permit.
   */
  private refuseHopelessWait(retryAfterMs: number | undefined): void {
    if (this.policy.onLongWait !== 'yield' || retryAfterMs === undefined) return;
    if (this.throttledMs + retryAfterMs > this.config.throttleMaxMs) throw SupplierThrottledError.asked(retryAfterMs);
  }

  /**
   * Waits `ms` for the budget. A run yields its worker slot only for a long wait the supplier's
   * throttling imposed: a plain wait for the rate (one token's time, 10 s at the lowest rate) or
   * for a lease is held in the slot, since a yield starts the run's calls over.
   */
  private async wait(ms: number, slowed: boolean): Promise<void> {
    if (slowed && !this.policy.waitWhenSlowed) throw new BudgetHeldError(ms);
    if (slowed) this.countWait(ms);
    if (ms > this.config.inlineWaitMs && this.policy.onLongWait === 'refuse') throw new BudgetHeldError(ms);
    if (ms > this.config.inlineWaitMs && slowed) throw new ThrottleYield(Date.now() + ms);
    await sleep(ms, undefined, this.signal ? { signal: this.signal } : {});
  }

  private countWait(ms: number): void {
    const now = Date.now();
    const added = Math.max(0, now + ms - Math.max(now, this.waitedUntil));
    this.waitedUntil = Math.max(this.waitedUntil, now + ms);
    this.throttledMs += added;
    this.report.waited(added);
    if (this.throttledMs > this.config.throttleMaxMs) throw SupplierThrottledError.waited(this.throttledMs);
  }
}

/** The supplier client whose supplier calls spend `calls`' budget (alerts go to partners, not suppliers). */
export function budgetedClient(supplier: SupplierClient, calls: BudgetedCalls): SupplierClient {
  return {
    ...supplier,
    fetchProducts: (target, options) => calls.call(() => supplier.fetchProducts(target, options)),
    probeProducts: (target, options) => calls.call(() => supplier.probeProducts(target, options)),
    fetchProduct: (target, productId, options) => calls.call(() => supplier.fetchProduct(target, productId, options)),
    lookupProduct: (target, productId, options) => calls.call(() => supplier.lookupProduct(target, productId, options)),
    fetchAvailability: (target, query, options) => calls.call(() => supplier.fetchAvailability(target, query, options)),
    fetchAvailabilityCalendar: (target, query, options) => calls.call(() => supplier.fetchAvailabilityCalendar(target, query, options)),
  };
}
