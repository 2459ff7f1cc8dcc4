import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { validateBaseUrl } from './base-url';
import { firstHeader, type OpenAnswer } from './catalog-body';
import { SupplierError } from './errors';
import type { FetchOptions, OutboundConfig, SupplierTarget } from './outbound-config';
import { withCapability } from './conformance-quirks';
import { checkHopUrl } from './outbound-guard';
import { supplierErrorFromResponse } from './response-errors';
import { supplierErrorFromTransport, type TransportPhase } from './transport-errors';

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const ERROR_BODY_BYTES = 16 * 1024;

/** What every exchange of one client shares. */
export interface ExchangeDeps {
  /** The connection pool, with the guarded connector. */
  dispatcher: Dispatcher;
  config: OutboundConfig;
  /** Normalised `allowedHosts` keys. */
  allowed: ReadonlySet<string>;
}

/** What one exchange sends: `GET /products` unless told otherwise. */
export interface ExchangeRequest {
  /** Appended to the base URL, e.g. `/availability`. */
  path: string;
  method: 'GET' | 'POST';
  /** A JSON body (POST). */
  body?: string;
}

const GET_PRODUCTS: ExchangeRequest = { path: '/products', method: 'GET' };

/**
 * One exchange with a supplier: follows redirects under the outbound rules, turns a non-2xx
 * answer into a SupplierError, and hands the 2xx answer to `consume` (which reads or drops the
 * body) within the same total deadline.
 */
export async function exchange<T>(
  deps: ExchangeDeps,
  target: SupplierTarget,
  options: FetchOptions,
  consume: (answer: OpenAnswer) => Promise<T>,
  request: ExchangeRequest = GET_PRODUCTS,
): Promise<T> {
  const { dispatcher, config } = deps;
  const checked = validateBaseUrl(target.baseUrl, { allowInsecureHttp: true });
  if (!checked.ok) throw new SupplierError('SUPPLIER_ADDRESS_BLOCKED', `base_url refused: it ${checked.reason}`);
  const first = new URL(`${checked.url}${request.path}`);
  const totalTimeoutMs = options.totalTimeoutMs ?? config.totalTimeoutMs;
  const deadline = startDeadline(totalTimeoutMs, options.signal);
  const started = performance.now();
  let url = first;
  let phase: TransportPhase = 'connect';
  const fail = (error: unknown): SupplierError =>
    supplierErrorFromTransport(error, {
      host: url.host,
      phase,
      timedOut: deadline.timedOut,
      totalTimeoutMs,
      connectTimeoutMs: config.connectTimeoutMs,
      headersTimeoutMs: config.headersTimeoutMs,
      stallTimeoutMs: config.stallTimeoutMs,
    });
  try {
    for (let hop = 0; ; hop++) {
      phase = 'headers';
      let response: Dispatcher.ResponseData;
      try {
        checkHopUrl(url, hop > 0, config.allowInsecureHttp, deps.allowed);
        const headers = requestHeaders(config, target, url.origin === first.origin, options);
        const path = `${url.pathname}${url.search}`;
        response = await dispatcher.request({ origin: url.origin, path, method: request.method, headers, body: request.body ?? null, signal: deadline.signal });
      } catch (error: unknown) {
        throw hop > 0 ? redirectRefusal(fail(error), url) : fail(error);
      }
      if (REDIRECT_STATUSES.has(response.statusCode)) {
        url = await redirectTarget(response, url, hop, config.maxRedirects);
        continue;
      }
      phase = 'body';
      if (response.statusCode < 200 || response.statusCode >= 300) {
        throw await refusalOf(response, `${request.method} ${request.path}`, [target.authKey], (error) => (deadline.timedOut ? fail(error) : undefined));
      }
      return await consume({ response, contentType: firstHeader(response.headers['content-type']), started, fail });
    }
  } finally {
    deadline.dispose();
  }
}

/** The total deadline of one exchange and the caller's abort, as one signal. */
interface Deadline {
  readonly signal: AbortSignal;
  /** True once the total deadline fired (as opposed to the caller aborting). */
  readonly timedOut: boolean;
  dispose(): void;
}

function startDeadline(totalTimeoutMs: number, callerSignal: AbortSignal | undefined): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`total timeout of ${totalTimeoutMs} ms`, 'TimeoutError'));
  }, totalTimeoutMs);
  const onCallerAbort = (): void => controller.abort(callerSignal?.reason);
  if (callerSignal?.aborted === true) onCallerAbort();
  else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose: () => {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    },
  };
}

/** Credentials go to the configured origin only (`sameOrigin`), never to where a redirect points. */
function requestHeaders(config: OutboundConfig, target: SupplierTarget, sameOrigin: boolean, { headers: extra = {}, locale }: FetchOptions): Record<string, string> {
  const headers: Record<string, string> = {
    'octo-capabilities': config.capabilities,
    'content-type': 'application/json',
    accept: 'application/json',
    'user-agent': config.userAgent,
    ...extra,
  };
  if (locale !== undefined) {
    headers['accept-language'] = locale;
    headers['octo-capabilities'] = withCapability(headers['octo-capabilities'] ?? '', 'octo/content');
  }
  delete headers.authorization;
  if (sameOrigin) headers.authorization = target.authType === 'bearer' ? `Bearer ${target.authKey}` : target.authKey;
  return headers;
}

async function readCapped(body: Dispatcher.ResponseData['body'], cap: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    chunks.push(buffer);
    size += buffer.length;
    if (size >= cap) break; // leaving the loop destroys the stream
  }
  return Buffer.concat(chunks, Math.min(size, cap)).subarray(0, cap);
}

/** A refusal met on a redirect hop: the base_url is fine, the place the supplier sent us is not. */
function redirectRefusal(error: SupplierError, url: URL): SupplierError {
  if (error.code !== 'SUPPLIER_ADDRESS_BLOCKED') return error;
  return new SupplierError('SUPPLIER_REDIRECT_BLOCKED', `supplier redirected to ${url.protocol}//${url.host}, which may not be reached: ${error.message}`, {
    cause: error,
  });
}

/** Where a redirect answer points, within `maxRedirects`. */
async function redirectTarget(response: Dispatcher.ResponseData, url: URL, hop: number, maxRedirects: number): Promise<URL> {
  const { statusCode, body } = response;
  // dump() reads a small body to the end (or drops a big one) and handles its own errors.
  await body.dump();
  const location = firstHeader(response.headers.location);
  if (location === undefined || location === '') {
    throw new SupplierError('SUPPLIER_HTTP_ERROR', `supplier answered ${statusCode} (a redirect) without a Location header`, { status: statusCode });
  }
  if (hop >= maxRedirects) {
    throw new SupplierError('SUPPLIER_REDIRECT_REFUSED', `supplier redirected more than ${maxRedirects} times; point base_url at the final address`, { status: statusCode });
  }
  try {
    return new URL(location, url);
  } catch (error: unknown) {
    throw new SupplierError('SUPPLIER_REDIRECT_REFUSED', `supplier redirected to an invalid URL`, { status: statusCode, cause: error });
  }
}

/** The SupplierError for a non-2xx answer, quoting a short excerpt of its body. */
async function refusalOf(response: Dispatcher.ResponseData, request: string, secrets: readonly string[], failOnDeadline: (error: unknown) => SupplierError | undefined): Promise<SupplierError> {
  const contentType = firstHeader(response.headers['content-type']);
  let excerpt: Buffer | undefined;
  try {
    excerpt = await readCapped(response.body, ERROR_BODY_BYTES);
  } catch (error: unknown) {
    // The status alone classifies the failure; a broken error body must not hide it.
    const deadline = failOnDeadline(error);
    if (deadline !== undefined) return deadline;
    excerpt = undefined;
  }
  return supplierErrorFromResponse({
    status: response.statusCode,
    request,
    retryAfter: response.headers['retry-after'],
    ...(excerpt === undefined ? {} : { body: excerpt }),
    ...(contentType === undefined ? {} : { contentType }),
    secrets,
  });
}
