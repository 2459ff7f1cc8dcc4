import { ConfigError } from '@octo-sync/platform';
import { Agent } from 'undici';
import { parseAllowedHosts } from './address-policy';
import { fetchAvailability, type AvailabilityQuery, type FetchedAvailability } from './availability';
import { dropBody, readCatalog, type FetchedBody, type ProbedHeaders } from './catalog-body';
import type { FetchOptions, OutboundConfig, SupplierTarget } from './outbound-config';
import { createGuardedConnector } from './outbound-guard';
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
  /** POST {baseUrl}/availability for one option and range of local dates, parsed; rejects with SupplierError. */
  fetchAvailability(target: SupplierTarget, query: AvailabilityQuery, options?: FetchOptions): Promise<FetchedAvailability>;
  /** Close the connection pool (waits for requests in flight). */
  close(): Promise<void>;
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
    probeProducts: (target, options = {}) => exchange(deps, target, options, dropBody),
    fetchAvailability: (target, query, options = {}) => fetchAvailability(deps, target, query, options),
    close: () => agent.close(),
  };
}
