import type { SyncRun } from '@octo-sync/db';
import { PullRequests } from '@octo-sync/runs';
import { generateCatalog, SlotCalendar } from '@octo-sync/testkit';
import { startHarness, type Harness } from './harness';

/** Pulls per currency against the test supplier's currency mode: prices beside the slots, per currency; a supplier that ignores `currency` reported, never stored under it. */
describe('availability pulls per currency', () => {
  let h: Harness;
  let pulls: PullRequests;
  const catalog = generateCatalog({ products: 2, options: 2, units: 1, seed: 31 });
  const start = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const calendar = SlotCalendar.generate({ products: catalog, start, days: 2, times: ['09:00', '14:00'], offset: '+00:00' });
  const options = catalog.length * 2;
  const slots = options * 2 * 2;

  beforeAll(async () => {
    h = await startHarness({ PULL_REQUESTS_PER_SUPPLIER: '3' });
    h.supplier.setCatalog(catalog);
    h.supplier.setAvailability(calendar);
    pulls = new PullRequests(h.db, h.producer);
  });
  afterAll(() => h.close());

  async function integrationWith(currencies: string[], tiers = [{ daysAhead: 3, intervalMinutes: 5 }, { daysAhead: 10, intervalMinutes: 60 }]) {
    const id = await h.createIntegration();
    await h.sync(id);
    return (await h.db.integrations.update(id, { currencies, availabilityPull: { tiers } }))!;
  }

  async function finished(requested: { runId: string; job: Parameters<Harness['producer']['waitFor']>[0] }): Promise<SyncRun> {
    const outcome = await h.producer.waitFor(requested.job, 60_000);
    if (outcome.state === 'pending') throw new Error(`pull ${requested.runId} did not finish in time`);
    return (await h.db.runs.findRun(requested.runId))!;
  }

  const prices = (integrationId: string) =>
    h.db.prisma.availabilitySlotPrice.findMany({ where: { integrationId }, orderBy: [{ currency: 'asc' }, { availabilityId: 'asc' }] });

  it('asks the first currency with every pull and the others on a pull of the whole window, storing each answer’s prices under its currency', async () => {
    h.supplier.setCurrencies({ supported: ['EUR', 'USD'] });
    const integration = await integrationWith(['EUR', 'USD']);
    const before = h.supplier.requests.length;
    const run = await finished(await pulls.request(integration, 'refresh'));
    expect(run).toMatchObject({ status: 'succeeded', counts: { slots: { created: slots }, options: { pulled: options, failed: 0 } }, warnings: null });
    const asked = h.supplier.requests.slice(before).filter((r) => r.method === 'POST');
    expect(asked).toHaveLength(options * 2);
    const stored = await prices(integration.id);
    expect(stored.filter((p) => p.currency === 'EUR')).toHaveLength(slots);
    expect(stored.filter((p) => p.currency === 'USD')).toHaveLength(slots);
    expect(stored.find((p) => p.currency === 'USD')).toMatchObject({ currencyPrecision: 2, pricing: expect.objectContaining({ currency: 'USD', retail: 5000 }), unitPricing: expect.arrayContaining([expect.objectContaining({ currency: 'USD', unitId: 'adult' })]) });
    // The slot rows hold the primary currency's answer (raw as sent).
    const slot = await h.db.prisma.availabilitySlot.findFirstOrThrow({ where: { integrationId: integration.id } });
    expect(slot.raw).toMatchObject({ pricing: { currency: 'EUR' } });
    const checks = (await h.db.integrations.findById(integration.id))!.currencyChecks as Record<string, unknown>;
    expect(checks).toMatchObject({ EUR: { honoured: true, answered: ['EUR'] }, USD: { honoured: true, answered: ['USD'] } });
    // The marks name the currency their answer was asked in.
    const marks = await h.db.prisma.availabilityPullMark.findMany({ where: { integrationId: integration.id } });
    expect(new Set(marks.map((m) => m.currency))).toEqual(new Set(['EUR']));

    // Unchanged: the primary answers are confirmed by their bytes, no price row is rewritten.
    const written = new Map(stored.map((p) => [`${p.availabilityId} ${p.currency}`, p.updatedAt.getTime()]));
    const again = await finished(await pulls.request(integration, 'refresh'));
    expect(again.counts).toMatchObject({ slots: { created: 0, updated: 0, unchanged: slots, closed: 0 } });
    expect(new Map((await prices(integration.id)).map((p) => [`${p.availabilityId} ${p.currency}`, p.updatedAt.getTime()]))).toEqual(written);
  });

  it('pulls the secondary currencies only at the last tier, over the whole window', async () => {
    h.supplier.setCurrencies({ supported: ['EUR', 'USD'] });
    const integration = await integrationWith(['USD', 'EUR']);
    const currenciesAsked = async (tier: number) => {
      const before = h.supplier.requests.length;
      const requested = await pulls.requestTier(integration, tier, 600_000);
      await finished(requested!);
      return h.supplier.requests.slice(before).filter((r) => r.method === 'POST').length;
    };
    // Tier 0 asks the primary currency only; the last tier asks it over its days, and the secondary over the whole window.
    expect(await currenciesAsked(0)).toBe(options);
    expect(await prices(integration.id).then((rows) => rows.map((r) => r.currency))).not.toContain('EUR');
    expect(await currenciesAsked(1)).toBe(options * 2);
    const stored = await prices(integration.id);
    // The calendar's slots are tomorrow and the day after: inside tier 0's days, priced in EUR by the last tier's pull.
    expect(stored.filter((p) => p.currency === 'EUR')).toHaveLength(slots);
    expect(stored.filter((p) => p.currency === 'USD')).toHaveLength(slots);
  });

  it('a supplier that ignores the currency is reported, and its prices are never stored under the currency asked', async () => {
    h.supplier.setCurrencies({ supported: ['EUR'], ignoreParameter: true });
    const integration = await integrationWith(['GBP', 'USD']);
    const run = await finished(await pulls.request(integration, 'refresh'));
    // The slots themselves are stored (their availability is right); no price under GBP or USD.
    expect(run).toMatchObject({ status: 'succeeded', counts: { slots: { created: slots } } });
    expect(await prices(integration.id)).toEqual([]);
    const reasons = (run.warnings as { items: Array<{ path: string; reason: string }> }).items.filter((w) => w.path === 'currency').map((w) => w.reason);
    expect(reasons).toEqual([
      `currency GBP asked, prices answered in EUR for ${options} option(s): not stored under GBP (the supplier ignores the currency parameter)`,
      `currency USD asked, prices answered in EUR for ${options} option(s): not stored under USD (the supplier ignores the currency parameter)`,
    ]);
    const checks = (await h.db.integrations.findById(integration.id))!.currencyChecks as Record<string, unknown>;
    expect(checks).toMatchObject({ GBP: { honoured: false, answered: ['EUR'] }, USD: { honoured: false, answered: ['EUR'] } });
    // Its answers are never confirmed by their bytes: the next pull judges them again, and says so again.
    const marks = await h.db.prisma.availabilityPullMark.findMany({ where: { integrationId: integration.id } });
    expect(marks.every((m) => m.digest === null && m.currency === 'GBP')).toBe(true);
    const again = await finished(await pulls.request(integration, 'refresh'));
    expect((again.warnings as { items: Array<{ path: string }> }).items.filter((w) => w.path === 'currency')).toHaveLength(2);

    // Once it honours the currency, the next pull stores its prices and the check says so.
    h.supplier.setCurrencies({ supported: ['GBP', 'USD'] });
    const honoured = await finished(await pulls.request(integration, 'refresh'));
    expect(honoured.warnings).toBeNull();
    expect(new Set((await prices(integration.id)).map((p) => p.currency))).toEqual(new Set(['GBP', 'USD']));
    expect((await h.db.integrations.findById(integration.id))!.currencyChecks).toMatchObject({ GBP: { honoured: true }, USD: { honoured: true } });
  });

  it('prunes prices dated before the retention with the pull marks, also on an unchanged pull', async () => {
    h.supplier.setCurrencies({ supported: ['EUR'] });
    const integration = await integrationWith(['EUR']);
    await finished(await pulls.request(integration, 'refresh'));
    const option = await h.db.prisma.slotOption.findFirstOrThrow({ where: { integrationId: integration.id, productOctoId: catalog[0]!.id } });
    await h.db.prisma.availabilitySlotPrice.create({ data: { integrationId: integration.id, optionKey: option.optionKey, availabilityId: 'long-gone', currency: 'EUR', localDate: '2020-01-01', answerKey: 1n } });
    const run = await finished(await pulls.request(integration, 'refresh'));
    expect(run.counts).toMatchObject({ slots: { created: 0, updated: 0, unchanged: slots } });
    expect(await h.db.prisma.availabilitySlotPrice.count({ where: { integrationId: integration.id, availabilityId: 'long-gone' } })).toBe(0);
    expect(await h.db.prisma.availabilitySlotPrice.count({ where: { integrationId: integration.id } })).toBe(slots);
  });

  it('a currency the supplier refuses is a per-option warning; the primary answers are stored', async () => {
    h.supplier.setCurrencies({ supported: ['EUR'] });
    const integration = await integrationWith(['EUR', 'JPY']);
    const run = await finished(await pulls.request(integration, 'refresh'));
    expect(run).toMatchObject({ status: 'succeeded', counts: { slots: { created: slots } } });
    const items = (run.warnings as { items: Array<{ reason: string }> }).items;
    expect(items).toHaveLength(options);
    expect(items[0]!.reason).toMatch(/^SUPPLIER_HTTP_ERROR: .*400/);
    expect(new Set((await prices(integration.id)).map((p) => p.currency))).toEqual(new Set(['EUR']));
  });
});
