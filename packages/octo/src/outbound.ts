import { ConfigError } from '@octo-sync/platform';
import { postAlert, type AlertPost } from './alert-post';
import { Agent } from 'undici';
import { parseAllowedHosts } from './address-policy';
import { fetchAvailability, type AvailabilityQuery, type FetchedAvailability } from './availability';
import { dropBody, readCatalog, type FetchedBody, type ProbedHeaders } from './catalog-body';
import type { FetchOptions, OutboundConfig, SupplierTarget } from './outbound-config';
import { createGuardedConnector } from './outbound-guard';
import { SupplierError } from './errors';
import { exchange, type ExchangeDeps } from './supplier-exchange';

/** The outbound OCTO client: one undici Agent with the SSRF-checking connector. */
export interface SupplierClient {
  /** GET {baseUrl}/products. Resolves on 2xx with the raw bytes; rejects with SupplierError otherwise. */
  fetchProducts(target: SupplierTarget, options?: FetchOptions): Promise<FetchedBody>;
  /**
   * GET {baseUrl}/products under the same rules, but the status line and headers decide: on 2xx the
   * body is dropped unread (the connection is closed), so a probe costs a few bytes, not a catalog.
   * Rejects with SupplierError as {@link fetchProducts} does.
   */
  probeProducts(target: SupplierTarget, options?: FetchOptions): Promise<ProbedHeaders>;
  /**
   * GET {baseUrl}/products/{productId} under the same rules and body cap as {@link fetchProducts};
   * null when the supplier says it no longer has the product (an OCTO error answer: 400
   * `INVALID_PRODUCT_ID`, or 404 with an OCTO error body). A plain 404 rejects (`SUPPLIER_HTTP_ERROR`,
   * status 404): it may as well mean the supplier does not serve single products at all.
   */
  fetchProduct(target: SupplierTarget, productId: string, options?: FetchOptions): Promise<FetchedBody | null>;
  /** As {@link fetchProduct}, keeping the supplier's answer to an unknown id (its status and OCTO error code). */
  lookupProduct(target: SupplierTarget, productId: string, options?: FetchOptions): Promise<ProductAnswer>;
  /** POST {baseUrl}/availability for one option and range of local dates, unparsed (`parseAvailability`); rejects with SupplierError. */
  fetchAvailability(target: SupplierTarget, query: AvailabilityQuery, options?: FetchOptions): Promise<FetchedAvailability>;
  /** POST {baseUrl}/availability/calendar (OCTO's per-day view, same body), unparsed; rejects with SupplierError (404 or 405 when not served). */
  fetchAvailabilityCalendar(target: SupplierTarget, query: AvailabilityQuery, options?: FetchOptions): Promise<FetchedAvailability>;
  /** POST one signed partner alert under the same rules; resolves with the answer's status (see {@link postAlert}). */
  postAlert(post: AlertPost): Promise<number>;
  /** Close the connection pool (waits for requests in flight). */
  close(): Promise<void>;
}

/** `GET /products/{id}` answered: the product, or the supplier's error saying it has no such product. */
export type ProductAnswer = { kind: 'found'; fetched: FetchedBody } | { kind: 'unknown'; error: SupplierError };

async function lookupProduct(deps: ExchangeDeps, target: SupplierTarget, productId: string, options: FetchOptions): Promise<ProductAnswer> {
  const request = { path: `/products/${encodeURIComponent(productId)}`, method: 'GET' } as const;
  try {
    return { kind: 'found', fetched: await exchange(deps, target, options, (answer) => readCatalog(answer, deps.config.maxBodyBytes, options.onBodyProgress), request) };
  } catch (error) {
    if (error instanceof SupplierError && isUnknownProduct(error)) return { kind: 'unknown', error };
    throw error;
  }
}

/** OCTO answers an unknown product id with 400 `INVALID_PRODUCT_ID`; some suppliers with a 404 that carries an OCTO error. */
function isUnknownProduct(error: SupplierError): boolean {
  return (error.status === 404 && error.octoCode !== undefined) || (error.status === 400 && error.octoCode === 'INVALID_PRODUCT_ID');
}

/** Create the outbound supplier client. Throws ConfigError on malformed `allowedHosts`. */
export function createSupplierClient(config: OutboundConfig): SupplierClient {
  const { keys: allowed, problems } = parseAllowedHosts(config.allowedHosts);
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => `allowedHosts ${problem}`));
  const agent = new Agent({
    connect: createGuardedConnector(config, allowed),
    headersTimeout: config.headersTimeoutMs,
    // undici's body timeout is the silence between two chunks: exactly the stall bound.
    bodyTimeout: config.stallTimeoutMs,
  });
  const deps: ExchangeDeps = { dispatcher: agent, config, allowed };
  return {
    fetchProducts: (target, options = {}) => exchange(deps, target, options, (answer) => readCatalog(answer, config.maxBodyBytes, options.onBodyProgress)),
    fetchProduct: async (target, productId, options = {}) => {
      const answer = await lookupProduct(deps, target, productId, options);
      return answer.kind === 'found' ? answer.fetched : null;
    },
    lookupProduct: (target, productId, options = {}) => lookupProduct(deps, target, productId, options),
    probeProducts: (target, options = {}) => exchange(deps, target, options, dropBody),
    fetchAvailability: (target, query, options = {}) => fetchAvailability(deps, target, query, options),
    fetchAvailabilityCalendar: (target, query, options = {}) => fetchAvailability(deps, target, query, options, '/availability/calendar'),
    postAlert: (post) => postAlert(deps, post),
    close: () => agent.close(),
  };
}
