import type { OctoProduct } from './catalog';
import { capabilityIds, catalogQuirks } from './conformance-quirks';

const product = (id: string, extra: Record<string, unknown> = {}): OctoProduct => ({ id, options: [{ id: 'DEFAULT', units: [{ id: 'adult' }] }], title: id, defaultCurrency: 'EUR', ...extra });

describe('catalogQuirks', () => {
  it('names the products that show a quirk, with the count', () => {
    const warnings = catalogQuirks([product('p1', { subtitle: 'old' }), product('p2')], capabilityIds('octo/content, octo/pricing'));
    expect(warnings).toEqual([expect.stringMatching(/^1 of 2 products use old-style content fields .*: "p1"$/)]);
  });

  it('claims nothing about availability: a GET /products answer carries none, so FREESALE numbers are not looked for there', () => {
    // Even an availability-shaped object inside a product is not an availability answer.
    const odd = product('p1', { extra: { status: 'FREESALE', vacancies: 5, capacity: 10 } });
    expect(catalogQuirks([odd], capabilityIds('octo/content, octo/pricing'))).toEqual([]);
  });
});
