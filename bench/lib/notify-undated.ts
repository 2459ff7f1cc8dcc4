import type { Db, SlotRow } from '@octo-sync/db';
import { round } from './args';

/** What a change without a start costs against one with a start, on slots spread over every month. */
export interface UndatedCost {
  /** Stored slots the changes are to, spread over the months the gateway accepts. */
  slots: number;
  /** Live partitions a change without a start probes. */
  partitions: number;
  /** Median wall time of one batch of `batch` changes, each to a stored slot. */
  datedBatchMs: number;
  undatedBatchMs: number;
  /** undatedBatchMs ÷ datedBatchMs. */
  undatedVsDated: number;
}

const DAY_MS = 86_400_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The price of the slots' partitions for a change that carries no start (`keyDate`,
 * slot-placement.ts): it finds its stored row's month in slot_ids, as a change with its start does,
 * and should cost what that costs (before slot_ids it probed every live partition). Measured on the store the worker calls
 * (`AvailabilityStore.apply`, one transaction a batch, change feed on as in the bench's worker),
 * `rounds` batches of each kind, alternated, on `slots` slots of one integration spread over the
 * two years ahead.
 */
export async function measureUndatedCost(db: Db, integrationId: string, options: { slots: number; batch: number; rounds: number }): Promise<UndatedCost> {
  const start = (i: number) => new Date(Date.now() + (1 + (i % 720)) * DAY_MS).toISOString().slice(0, 10) + `T${String(8 + (i % 10)).padStart(2, '0')}:00:00+00:00`;
  let key = BigInt(Date.now()) * 1_000_000n;
  const change = (i: number, dated: boolean, vacancies: number): SlotRow => {
    key += 1_000n;
    const at = dated ? start(i) : null;
    return { integration_id: integrationId, product_octo_id: 'p', option_octo_id: 'DEFAULT', availability_id: `undated-bench-${i}`, local_date_time_start: at, starts_at: at, status: 'AVAILABLE', vacancies, capacity: 99, order_key: key.toString(), order_source: 'received_at', received_key: key.toString(), raw: null };
  };
  for (let i = 0; i < options.slots; i += options.batch) {
    await db.availability.apply([Array.from({ length: Math.min(options.batch, options.slots - i) }, (_v, k) => change(i + k, true, 1))]);
  }
  // Planner statistics as autovacuum would have them by the time a table holds this many slots.
  await db.pool.query('ANALYZE availability_slots');
  const times = { dated: [] as number[], undated: [] as number[] };
  for (let round_ = 0; round_ < options.rounds; round_++) {
    for (const dated of [true, false]) {
      const first = (round_ * options.batch * 2 + (dated ? 0 : options.batch)) % options.slots;
      const batch = Array.from({ length: options.batch }, (_v, k) => change((first + k) % options.slots, dated, 2 + round_));
      const t0 = performance.now();
      await db.availability.apply([batch]);
      times[dated ? 'dated' : 'undated'].push(performance.now() - t0);
    }
  }
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'availability_slots'::regclass`);
  const [datedBatchMs, undatedBatchMs] = [median(times.dated), median(times.undated)];
  return { slots: options.slots, partitions: rows[0]?.n ?? 0, datedBatchMs: round(datedBatchMs, 1), undatedBatchMs: round(undatedBatchMs, 1), undatedVsDated: round(undatedBatchMs / datedBatchMs, 2) };
}
