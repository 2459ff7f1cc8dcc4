import type { SyncRun } from '@octo-sync/db';
import type { AlertKind, Alerts } from '../alerts/alerts';
import { alertRunEnded } from './run-alerts';

const counts = (quarantined: number) => ({
  products: { created: 0, updated: 0, unchanged: 2, removed: 0, quarantined },
  options: { created: 0, updated: 0, unchanged: 2, removed: 0 },
  units: { created: 0, updated: 0, unchanged: 2, removed: 0 },
});

const run = (fields: Partial<SyncRun>): SyncRun => ({ id: 'run-1', attempts: 1, counts: null, warnings: null, ...fields }) as SyncRun;

async function raised(ended: SyncRun): Promise<Array<{ kind: AlertKind; facts: unknown }>> {
  const seen: Array<{ kind: AlertKind; facts: unknown }> = [];
  const alerts: Alerts = {
    raise: (_integrationId, kind, facts) => {
      seen.push({ kind, facts });
      return Promise.resolve();
    },
  };
  await alertRunEnded(alerts, { id: 'integration-1', syncErrorCode: null }, ended);
  return seen;
}

describe('alertRunEnded: catalog.products_quarantined', () => {
  const unknownIds = { items: [{ product_id: 'nope', path: 'productIds', reason: 'the supplier does not know this product' }], omitted: 0 };

  it('counts the quarantined products of the run’s counts, not every warning (a targeted refresh names unknown ids)', async () => {
    expect(await raised(run({ counts: counts(0), warnings: unknownIds }))).toEqual([]);
    expect(await raised(run({ counts: counts(1), warnings: { items: [...unknownIds.items, unknownIds.items[0]!], omitted: 0 } }))).toEqual([
      { kind: 'catalog.products_quarantined', facts: { run_id: 'run-1', quarantined: 1 } },
    ]);
  });

  it('counts the warnings of a skipped full sync, which records no counts (its warnings are its quarantines)', async () => {
    expect(await raised(run({ status: 'skipped', warnings: { items: unknownIds.items, omitted: 2 } }))).toEqual([
      { kind: 'catalog.products_quarantined', facts: { run_id: 'run-1', quarantined: 3 } },
    ]);
  });
});
