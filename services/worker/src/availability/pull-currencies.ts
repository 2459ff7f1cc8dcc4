import { tierScope, type CurrencyChecks, type PullTier, type RunWarning, type SlotPriceRow, type SnapshotSlot } from '@octo-sync/db';
import { pricedCurrencies, slotPrices, type OctoSlot } from '@octo-sync/octo';
import type { WindowedTarget } from './pull-targets';

/*
 * Currencies in a pull: the integration's first currency is asked with every pull (its answers
 * keep the slots, their prices stored beside them); the others are asked by the pulls that cover
 * the whole window at the last tier's interval (the last tier's scheduled pull, a refresh of the
 * whole window), and write prices only. An answer priced in another currency than asked is never
 * stored under the asked one: the run names it, the integration's `currency_checks` shows it.
 */

/** What the answers asked in each currency were priced in, over one run. */
export class CurrencyTally {
  private readonly asked = new Map<string, { answered: Set<string>; ignored: string[] }>();

  /**
   * Whether `slots`, asked in `currency`, were priced in it: true (store their prices), false
   * (priced in another: store none), or null (no prices to judge by).
   */
  judge(currency: string, slots: ReadonlyArray<Pick<OctoSlot, 'raw'>>, productId: string): boolean | null {
    const seen = pricedCurrencies(slots);
    if (seen.size === 0) return null;
    const entry = this.asked.get(currency) ?? { answered: new Set<string>(), ignored: [] };
    this.asked.set(currency, entry);
    for (const c of seen) entry.answered.add(c);
    const honoured = [...seen].every((c) => c === currency);
    if (!honoured) entry.ignored.push(productId);
    return honoured;
  }

  /** The integration's `currency_checks` entries this run learnt. */
  checks(at: Date): CurrencyChecks {
    const out: CurrencyChecks = {};
    for (const [currency, { answered, ignored }] of this.asked) out[currency] = { honoured: ignored.length === 0, answered: [...answered].sort(), checked_at: at.toISOString() };
    return out;
  }

  /** One run warning per currency the supplier did not price in. */
  warnings(): RunWarning[] {
    return [...this.asked].flatMap(([currency, { answered, ignored }]) => {
      if (ignored.length === 0) return [];
      const others = [...answered].filter((c) => c !== currency).sort().join(', ');
      const reason = `currency ${currency} asked, prices answered in ${others} for ${ignored.length} option(s): not stored under ${currency} (the supplier ignores the currency parameter)`;
      return [{ product_id: ignored[0]!, path: 'currency', reason }];
    });
  }
}

/**
 * The price rows of an answer's slots asked in `currency`, judged first: `ignored` when it priced
 * in another currency (nothing is stored under `currency`), none when it priced nothing.
 */
export function priceRowsOf(
  answer: { productId: string; optionId: string; from: string; answerKey: bigint },
  currency: string,
  slots: readonly SnapshotSlot[],
  tally: CurrencyTally,
): SlotPriceRow[] | 'ignored' {
  const raws = slots.map((slot) => ({ raw: (slot.raw ?? {}) as Record<string, unknown> }));
  const judged = tally.judge(currency, raws, answer.productId);
  if (judged === false) return 'ignored';
  if (judged === null) return [];
  const rows = new Map<string, SlotPriceRow>();
  slots.forEach((slot, i) => {
    const prices = slotPrices(raws[i]!);
    if (prices === undefined || prices.currency !== currency) return;
    const date = slot.local_date_time_start?.slice(0, 10);
    rows.set(slot.availability_id, {
      product_octo_id: answer.productId,
      option_octo_id: answer.optionId,
      availability_id: slot.availability_id,
      currency,
      currency_precision: prices.precision,
      pricing: prices.pricing,
      unit_pricing: prices.unitPricing,
      local_date: date !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(date) ? date : answer.from,
      answer_key: answer.answerKey.toString(),
    });
  });
  return [...rows.values()];
}

/**
 * The targets a run asks the secondary currencies for: the whole window (days 0 to the last
 * tier's) on the last tier's scheduled pull, the run's own targets on a pull of the whole window
 * (no scope), none otherwise (other tiers, narrowed refreshes, change hints).
 */
export function secondaryTargets(currencies: readonly string[], pullScope: string | null, hinted: boolean, tiers: readonly PullTier[], targets: readonly WindowedTarget[]): WindowedTarget[] {
  if (currencies.length < 2 || hinted) return [];
  if (pullScope === null) return [...targets];
  const last = tiers.length - 1;
  if (pullScope !== tierScope(last)) return [];
  return targets.map((t) => ({ ...t, days: { from: 0, to: tiers[last]!.daysAhead } }));
}
