import { CurrencyTally, priceRowsOf, secondaryTargets } from './pull-currencies';

const price = (currency: string) => ({ retail: 5000, currency, currencyPrecision: 2 });
const slot = (id: string, currency: string | null) => ({
  availability_id: id,
  local_date_time_start: `${id}T09:00:00+00:00`,
  starts_at: null,
  status: 'AVAILABLE',
  vacancies: 1,
  capacity: 1,
  raw: currency === null ? { id } : { id, pricing: price(currency), unitPricing: [{ unitId: 'adult', ...price(currency) }] },
});
const answer = { productId: 'p', optionId: 'o', from: '2026-12-08', answerKey: 7n };

describe('priceRowsOf and CurrencyTally', () => {
  it('stores an answer priced in the currency asked, one row per slot with its precision and local date', () => {
    const tally = new CurrencyTally();
    const rows = priceRowsOf(answer, 'USD', [slot('2026-12-09', 'USD'), slot('2026-12-10', null)], tally);
    expect(rows).toEqual([
      { product_octo_id: 'p', option_octo_id: 'o', availability_id: '2026-12-09', currency: 'USD', currency_precision: 2, pricing: price('USD'), unit_pricing: [{ unitId: 'adult', ...price('USD') }], local_date: '2026-12-09', answer_key: '7' },
    ]);
    expect(tally.checks(new Date(0))).toEqual({ USD: { honoured: true, answered: ['USD'], checked_at: '1970-01-01T00:00:00.000Z' } });
    expect(tally.warnings()).toEqual([]);
  });

  it('stores nothing from an answer priced in another currency, and says so once per currency', () => {
    const tally = new CurrencyTally();
    expect(priceRowsOf(answer, 'USD', [slot('2026-12-09', 'EUR')], tally)).toBe('ignored');
    expect(priceRowsOf({ ...answer, productId: 'q' }, 'USD', [slot('2026-12-09', 'EUR'), slot('2026-12-10', 'USD')], tally)).toBe('ignored');
    expect(tally.checks(new Date(0)).USD).toMatchObject({ honoured: false, answered: ['EUR', 'USD'] });
    expect(tally.warnings()).toEqual([{ product_id: 'p', path: 'currency', reason: 'currency USD asked, prices answered in EUR for 2 option(s): not stored under USD (the supplier ignores the currency parameter)' }]);
  });

  it('an answer without prices judges nothing', () => {
    const tally = new CurrencyTally();
    expect(priceRowsOf(answer, 'USD', [slot('2026-12-09', null)], tally)).toEqual([]);
    expect(tally.checks(new Date(0))).toEqual({});
  });
});

describe('secondaryTargets', () => {
  const tiers = [{ daysAhead: 3, intervalMinutes: 5 }, { daysAhead: 30, intervalMinutes: 60 }, { daysAhead: 90, intervalMinutes: 1440 }];
  const targets = [{ productId: 'p', optionId: 'o', timeZone: null, days: { from: 31, to: 90 } }];
  it('the last tier asks the other currencies over the whole window; a whole-window pull over its own', () => {
    expect(secondaryTargets(['EUR', 'USD'], '["tier",2]', false, tiers, targets)).toEqual([{ ...targets[0], days: { from: 0, to: 90 } }]);
    expect(secondaryTargets(['EUR', 'USD'], null, false, tiers, [{ productId: 'p', optionId: 'o', timeZone: null }])).toEqual([{ productId: 'p', optionId: 'o', timeZone: null }]);
  });
  it('other tiers, narrowed refreshes, hints and a single currency ask none', () => {
    expect(secondaryTargets(['EUR', 'USD'], '["tier",0]', false, tiers, targets)).toEqual([]);
    expect(secondaryTargets(['EUR', 'USD'], '["p",null,null,null]', false, tiers, targets)).toEqual([]);
    expect(secondaryTargets(['EUR', 'USD'], null, true, tiers, targets)).toEqual([]);
    expect(secondaryTargets(['EUR'], '["tier",2]', false, tiers, targets)).toEqual([]);
  });
});
