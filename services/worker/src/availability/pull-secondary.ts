import { parseAvailability, type SupplierClient, type SupplierTarget } from '@octo-sync/octo';
import { slotTimeBounds } from '@octo-sync/jobs';
import type { Db, Integration, RunWarning, SlotPriceRow } from '@octo-sync/db';
import { optionFailure } from './pull-answer';
import { priceRowsOf, type CurrencyTally } from './pull-currencies';
import type { WindowedTarget } from './pull-targets';
import { answerKeyOf, eachLimited, storableSlots, type WindowOf } from './pull-window';

/** What asking the secondary currencies needs. */
export interface SecondaryWork {
  db: Db;
  supplier: SupplierClient;
  settings: { perSupplier: number; retentionDays: number };
  targets: readonly WindowedTarget[];
  /** The integration's currencies after its first. */
  currencies: readonly string[];
  windowOf: WindowOf;
  tally: CurrencyTally;
  /** Per-option failures, as the primary answers' (a currency the supplier refuses is one). */
  warnings: RunWarning[];
}

/** Price rows per write (a few hundred bytes each): one short fenced transaction per batch. */
const PRICE_BATCH = 2_000;

/**
 * Asks every target once per secondary currency (`POST /availability` with `currency`, each call
 * spending the supplier budget through `deps.supplier`) and stores the prices of the answers
 * priced in the currency asked, in batches (`write`, the run's fenced transaction); writes no
 * slot. Returns the price rows handed to `write`.
 */
export async function pullSecondaries(work: SecondaryWork, integration: Integration, write: (rows: readonly SlotPriceRow[]) => Promise<void>, signal: AbortSignal | undefined): Promise<number> {
  if (work.targets.length === 0 || work.currencies.length === 0) return 0;
  const supplierTarget: SupplierTarget = { baseUrl: integration.baseUrl, authType: integration.authType, authKey: work.db.integrations.readAuthKey(integration) };
  const asks = work.targets.flatMap((target) => work.currencies.map((currency) => ({ target, currency })));
  let pending: SlotPriceRow[] = [];
  let total = 0;
  let writing: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    const rows = pending;
    pending = [];
    total += rows.length;
    writing = writing.then(() => write(rows));
    return writing;
  };
  const askOne = async ({ target, currency }: { target: WindowedTarget; currency: string }): Promise<void> => {
    const window = work.windowOf(target);
    const query = { productId: target.productId, optionId: target.optionId, localDateStart: window.from, localDateEnd: window.to, currency };
    try {
      const fetched = await work.supplier.fetchAvailability(supplierTarget, query, signal ? { signal } : {});
      const slots = storableSlots(parseAvailability(fetched.body).slots, slotTimeBounds(Date.now(), work.settings.retentionDays)).slots;
      const rows = priceRowsOf({ ...target, from: window.from, answerKey: answerKeyOf(fetched.answeredAt) }, currency, slots, work.tally);
      if (rows !== 'ignored') pending.push(...rows);
    } catch (error: unknown) {
      optionFailure(error, target, work.warnings);
    }
    if (pending.length >= PRICE_BATCH) await flush();
  };
  // Also when the supplier failed: what was fetched is written, and the attempt fails after.
  const asked = await eachLimited(asks, work.settings.perSupplier, askOne).then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  if (pending.length > 0) void flush();
  await writing;
  if (asked !== undefined) throw asked.error;
  return total;
}
