import type { Db } from '@octo-sync/db';
import type { PayloadOf, TestConnectionResult, testConnectionJob } from '@octo-sync/jobs';
import { isSupplierError, parseCatalog, type SupplierClient } from '@octo-sync/octo';

export interface TestConnectionDeps {
  db: Db;
  supplier: SupplierClient;
}

/**
 * `integration.test-connection`: calls `GET {base_url}/products` with the stored credentials
 * through the same outbound client (and address rules) as a sync, and reports what happened in
 * words a partner can act on. Supplier problems are results (`ok: false`), never thrown: the job
 * only fails for our own faults (for example a credential that cannot be decrypted).
 */
export function createTestConnectionHandler({ db, supplier }: TestConnectionDeps) {
  return async (payload: PayloadOf<typeof testConnectionJob>): Promise<TestConnectionResult> => {
    const integration = await db.integrations.findLive(payload.integrationId);
    if (!integration) {
      return { ok: false, code: 'INTEGRATION_NOT_FOUND', message: 'the integration no longer exists', latency_ms: 0 };
    }
    const target = { baseUrl: integration.baseUrl, authType: integration.authType, authKey: db.integrations.readAuthKey(integration) };
    const started = performance.now();
    const elapsed = () => Math.max(0, Math.round(performance.now() - started));
    let status: number | undefined;
    try {
      const fetched = await supplier.fetchProducts(target);
      status = fetched.status;
      const products = parseCatalog(fetched.body);
      return { ok: true, message: 'Connection successful', status: fetched.status, latency_ms: Math.round(fetched.latencyMs), product_count: products.length };
    } catch (err) {
      if (!isSupplierError(err)) throw err;
      const httpStatus = err.status ?? status;
      return { ok: false, message: err.message, code: err.code, ...(httpStatus === undefined ? {} : { status: httpStatus }), latency_ms: elapsed() };
    }
  };
}
