import type { Dispatcher } from 'undici';
import { validateBaseUrl } from './base-url';
import { SupplierError } from './errors';
import { checkHopUrl } from './outbound-guard';
import type { ExchangeDeps } from './supplier-exchange';
import { supplierErrorFromTransport, type TransportPhase } from './transport-errors';

/** One signed alert to POST: the body exactly as signed, and its signature headers. */
export interface AlertPost {
  /** The integration's `alerts_url`. */
  url: string;
  body: string;
  headers: Readonly<Record<string, string>>;
  /** Deadline of the whole exchange. */
  timeoutMs: number;
}

/**
 * POSTs an alert under the outbound rules of the supplier client (address checks on the URL and
 * on the connected socket, https unless plain http is allowed). Redirects are not followed: a
 * receiver answers where it was registered. Resolves with the HTTP status of any answer; rejects
 * with a SupplierError when no answer came (refused address, timeout, transport failure).
 */
export async function postAlert(deps: ExchangeDeps, post: AlertPost): Promise<number> {
  const { dispatcher, config, allowed } = deps;
  const checked = validateBaseUrl(post.url, { allowInsecureHttp: config.allowInsecureHttp });
  if (!checked.ok) throw new SupplierError('SUPPLIER_ADDRESS_BLOCKED', `alerts_url refused: it ${checked.reason}`);
  const url = new URL(checked.url);
  checkHopUrl(url, false, config.allowInsecureHttp, allowed);
  const signal = AbortSignal.timeout(post.timeoutMs);
  let phase: TransportPhase = 'headers';
  try {
    const headers = { ...post.headers, 'content-type': 'application/json', 'user-agent': config.userAgent };
    const response: Dispatcher.ResponseData = await dispatcher.request({ origin: url.origin, path: `${url.pathname}${url.search}`, method: 'POST', headers, body: post.body, signal });
    phase = 'body';
    await response.body.dump();
    return response.statusCode;
  } catch (error: unknown) {
    throw supplierErrorFromTransport(error, { host: url.host, phase, timedOut: signal.aborted, totalTimeoutMs: post.timeoutMs, connectTimeoutMs: config.connectTimeoutMs, headersTimeoutMs: config.headersTimeoutMs });
  }
}
