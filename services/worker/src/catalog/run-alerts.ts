import type { Integration, RunCounts, RunWarnings, SyncRun } from '@octo-sync/db';
import type { AlertKind, Alerts } from '../alerts/alerts';

/**
 * How many products a run kept as stored: its counts say so. A skipped full sync records no
 * counts, and then its warnings (listed or only counted) are its quarantined products; other
 * warnings, such as a targeted refresh's unknown ids, are not quarantines.
 */
function quarantinedCount(run: SyncRun): number {
  const counts = run.counts as RunCounts | null;
  if (counts?.products !== undefined) return counts.products.quarantined;
  const warnings = run.warnings as RunWarnings | null;
  return warnings === null ? 0 : warnings.items.length + warnings.omitted;
}

/**
 * The alerts of a run that ended well: `sync.recovered` when the integration's previous run had
 * failed for good (an error still recorded when this run's first attempt started), and
 * `catalog.products_quarantined` when products were kept as stored.
 */
export async function alertRunEnded(alerts: Alerts, integration: Pick<Integration, 'id' | 'syncErrorCode'>, run: SyncRun): Promise<void> {
  if (integration.syncErrorCode !== null && run.attempts === 1) {
    await alerts.raise(integration.id, 'sync.recovered', { run_id: run.id, previous_error_code: integration.syncErrorCode });
  }
  const quarantined = quarantinedCount(run);
  if (quarantined > 0) await alerts.raise(integration.id, 'catalog.products_quarantined', { run_id: run.id, quarantined });
}

/** The alert of a run that failed for good: the mass-removal guard and a blocked drift have their own kinds. */
export async function alertRunFailed(alerts: Alerts, run: Pick<SyncRun, 'id' | 'integrationId'>, failure: { code: string; message: string }): Promise<void> {
  const kind = FAILURE_KINDS[failure.code] ?? 'sync.failed';
  await alerts.raise(run.integrationId, kind, { run_id: run.id, error_code: failure.code, message: failure.message });
}

const FAILURE_KINDS: Partial<Record<string, AlertKind>> = { MASS_REMOVAL_BLOCKED: 'catalog.mass_removal_blocked', SUPPLIER_DRIFT: 'supplier.drift' };
