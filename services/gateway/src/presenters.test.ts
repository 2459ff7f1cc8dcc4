import type { SyncRun } from '@octo-sync/db';
import { presentRun } from './presenters';
import { runSchema } from './response-schemas';

const base: SyncRun = {
  id: '3f0e1b9c-0000-4000-8000-000000000001',
  integrationId: '3f0e1b9c-0000-4000-8000-000000000002',
  trigger: 'webhook',
  kind: 'catalog',
  status: 'succeeded',
  force: false,
  attempts: 1,
  queuedAt: new Date('2026-06-23T06:00:00.000Z'),
  startedAt: new Date('2026-06-23T06:00:00.010Z'),
  finishedAt: new Date('2026-06-23T06:00:00.110Z'),
  durationMs: 100,
  payloadBytes: 1234,
  hash: 'a'.repeat(64),
  counts: null,
  warnings: null,
  synced: 2,
  errorCode: null,
  errorMessage: null,
  requestIds: ['req-1'],
  productIds: [] as string[],
  throttledMs: 0,
} as SyncRun;

describe('presentRun', () => {
  it('shows the stored warnings and the quarantined count', () => {
    const counts = { products: { created: 1, updated: 0, unchanged: 3, removed: 0, quarantined: 2 }, options: { created: 1, updated: 0, unchanged: 0, removed: 0 }, units: { created: 1, updated: 0, unchanged: 0, removed: 0 } };
    const warnings = {
      items: [
        { product_id: 'p-1', path: '[1].title', reason: 'the string contains a NUL character (U+0000), which Postgres cannot store' },
        { product_id: null, path: '[4].id', reason: 'the product id must be a non-empty string (got nothing)' },
      ],
      omitted: 3,
    };
    const shown = presentRun({ ...base, counts, warnings });
    expect(runSchema.parse(shown)).toEqual(shown);
    expect(shown).toMatchObject({ counts, warnings: warnings.items, warnings_omitted: 3 });
  });

  it('shows no warnings and zero quarantined for runs recorded before either existed', () => {
    const counts = { products: { created: 1, updated: 0, unchanged: 0, removed: 0 }, options: { created: 0, updated: 0, unchanged: 0, removed: 0 }, units: { created: 0, updated: 0, unchanged: 0, removed: 0 } };
    const shown = presentRun({ ...base, counts });
    expect(runSchema.parse(shown)).toEqual(shown);
    expect(shown).toMatchObject({ warnings: [], warnings_omitted: 0, counts: { products: { quarantined: 0 } } });
  });
});
