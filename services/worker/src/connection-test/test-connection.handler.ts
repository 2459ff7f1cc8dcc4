import type { Db } from '@octo-sync/db';
import type { JobContext, PayloadOf, TestConnectionResult, testConnectionJob } from '@octo-sync/jobs';
import { checkConformance, type ConformanceReport, type ConformanceSettings, type SupplierClient } from '@octo-sync/octo';
import type { WorkerConfig } from '../config';
import { BudgetedCalls, budgetedClient, type BudgetDeps } from '../supplier-budget/budgeted-supplier';

export interface TestConnectionDeps {
  db: Db;
  supplier: SupplierClient;
  settings: ConformanceSettings;
  /** The suppliers' shared request budgets: a check's calls spend its supplier's (a budget held too long is reported as rate limited). */
  budget: BudgetDeps;
}

/** What a conformance check obeys in this worker: the sync's capabilities and product limits. */
export function conformanceSettings(config: WorkerConfig): ConformanceSettings {
  return {
    capabilities: config.outbound.capabilities,
    productLimits: config.sync.productLimits,
    slowMs: config.testConnection.slowMs,
    maxDifferences: config.testConnection.maxDifferences,
  };
}

function answerOf(report: ConformanceReport, latencyMs: number): TestConnectionResult {
  const verdict = {
    errors: report.errors,
    warnings: report.warnings,
    stable: report.stable,
    differences: report.differences,
    availability: report.availability,
    unknown_product: report.unknown_product,
    latency: report.latency,
    ...(report.currencies.length === 0 ? {} : { currencies: report.currencies }),
  };
  if (report.failure === null) {
    return { ok: true, message: 'Connection successful', status: 200, latency_ms: report.fetch_ms, product_count: report.products, ...verdict };
  }
  const { code, message, status } = report.failure;
  return { ok: false, message, code, ...(status === undefined ? {} : { status }), latency_ms: latencyMs, ...verdict };
}

/**
 * `integration.test-connection`: the conformance check of `npm run conformance` on the stored
 * base URL and credentials, through the same outbound client (and address rules) and supplier
 * budget as a sync: two `GET {base_url}/products`, read as a sync reads them, then a sample of
 * availability and a known and an unknown product, and availability in each of the integration's
 * `currencies`, reported in words a partner can act on.
 * Supplier problems are results (`ok: false`), never thrown: the job only fails for our own
 * faults (for example a credential that cannot be decrypted).
 */
export function createTestConnectionHandler({ db, supplier, settings, budget }: TestConnectionDeps) {
  return async (payload: PayloadOf<typeof testConnectionJob>, ctx?: JobContext): Promise<TestConnectionResult> => {
    const integration = await db.integrations.findLive(payload.integrationId);
    if (!integration) {
      return { ok: false, code: 'INTEGRATION_NOT_FOUND', message: 'the integration no longer exists', latency_ms: 0, errors: [], warnings: [], stable: null, differences: [] };
    }
    const target = { baseUrl: integration.baseUrl, authType: integration.authType, authKey: db.integrations.readAuthKey(integration) };
    const started = performance.now();
    const calls = new BudgetedCalls(budget, integration, { onLongWait: 'refuse', waitWhenSlowed: true }, ctx?.signal);
    // The integration's currencies, each asked once: whether the supplier honours them before a pull relies on it.
    const report = await checkConformance(budgetedClient(supplier, calls), target, { ...settings, currencies: integration.currencies });
    return answerOf(report, Math.max(0, Math.round(performance.now() - started)));
  };
}
