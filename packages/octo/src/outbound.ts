import { createHash } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { rootCertificates } from 'node:tls';
import { ConfigError } from '@octo-sync/platform';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { allowanceHint, classifyAddress, hostPortKey, parseAllowedHosts } from './address-policy';
import { validateBaseUrl } from './base-url';
import { SupplierError, supplierErrorFromResponse, supplierErrorFromTransport, type TransportPhase } from './errors';

/** Limits and rules of the outbound supplier client; callers build it from their config. */
export interface OutboundConfig {
  /**
   * `host:port` entries (IPv6 as `[::1]:port`) the client may reach even though they resolve to
   * private or loopback addresses. Matched case-insensitively against the URL's host name and
   * effective port; the allowance is for that host and port only.
   */
  allowedHosts: readonly string[];
  /** Permit `http://` (development, tests); otherwise https only, on every redirect hop too. */
  allowInsecureHttp: boolean;
  /** `Octo-Capabilities` header value, e.g. `octo/pricing`. */
  capabilities: string;
  /** `User-Agent` header value naming the project. */
  userAgent: string;
  connectTimeoutMs: number;
  /** Longest wait for response headers after the request was sent. */
  headersTimeoutMs: number;
  /**
   * Longest silence between two body chunks: a body that stalls this long fails at once
   * (SUPPLIER_TIMEOUT, retryable) however long the total deadline still runs.
   */
  stallTimeoutMs: number;
  /** Deadline for the whole exchange, redirects and body included. */
  totalTimeoutMs: number;
  /** Largest body accepted, in bytes (callers default to 64 MiB). */
  maxBodyBytes: number;
  /** Redirect hops followed at most (e.g. 3). */
  maxRedirects: number;
  /** Name resolution; `dns.lookup` unless a test supplies its own. */
  lookup?: LookupFunction;
  /** Extra trusted CA certificate(s) in PEM, added to Node's default roots (corporate CA, tests). */
  tlsCa?: string | Buffer | ReadonlyArray<string | Buffer>;
}

/** Where and how to call one supplier. */
export interface SupplierTarget {
  /** OCTO API root, already checked by {@link validateBaseUrl}. */
  baseUrl: string;
  authType: 'bearer' | 'api_key';
  /** The supplier credential; it never appears in an error or log. */
  authKey: string;
}

/** A successful `GET /products` answer, unparsed. */
export interface FetchedBody {
  status: number;
  body: Buffer;
  bytes: number;
  /** SHA-256 (hex) of the raw bytes, computed while streaming. */
  digest: string;
  /** From sending the request to the last body byte, redirects included. */
  latencyMs: number;
  contentType?: string;
}

/** Options of one fetch. */
export interface FetchOptions {
  /** Aborting it fails the fetch with SUPPLIER_TIMEOUT. */
  signal?: AbortSignal;
  /** Overrides the configured total deadline (health probes use a short one). */
  totalTimeoutMs?: number;
}

/** A `GET /products` answered 2xx, of which only the status line and headers were read. */
export interface ProbedHeaders {
  status: number;
  /** From sending the request to the response headers, redirects included. */
  latencyMs: number;
  contentType?: string;
  /** The declared `Content-Length`, when there is one. */
  contentLength?: number;
}

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
  /** Close the connection pool (waits for requests in flight). */
  close(): Promise<void>;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const ERROR_BODY_BYTES = 16 * 1024;

function defaultPort(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}

/** The address a name-based refusal resolved to, so the connector can add the port-aware hint. */
const refusedAddresses = new WeakMap<SupplierError, string>();

function blockedError(host: string, address: string, viaName: boolean, hint = 'only public addresses can be reached'): SupplierError {
  const cls = classifyAddress(address);
  const message = viaName
    ? `connection to ${host} refused: it resolves to ${address}, which is ${cls} and not allowed; ${hint}`
    : `connection to ${address} refused: address is ${cls} and not allowed; ${hint}`;
  const error = new SupplierError('SUPPLIER_ADDRESS_BLOCKED', message);
  if (viaName) refusedAddresses.set(error, address);
  return error;
}

/** {@link blockedError} with the `OCTO_ALLOWED_HOSTS` entry that would allow `host:port`. */
function blockedWithHint(hostname: string, port: string | number, address: string, viaName: boolean, allowed: ReadonlySet<string>): SupplierError {
  const resolvedKey = hostPortKey(address, port);
  const hint = allowanceHint(hostPortKey(hostname, port), classifyAddress(address), viaName && allowed.has(resolvedKey) ? resolvedKey : undefined);
  return blockedError(hostname, address, viaName, hint);
}

/** Wrap a lookup so that a name resolving to any non-public address fails before connecting. */
export function guardedLookup(base: LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    base(hostname, { ...options, all: true }, (error, result, family) => {
      if (error) {
        callback(error, '');
        return;
      }
      const addresses: LookupAddress[] = Array.isArray(result) ? result : [{ address: result, family: family ?? (isIP(result) || 4) }];
      const bad = addresses.find((entry) => classifyAddress(entry.address) !== 'public');
      if (bad !== undefined) {
        callback(blockedError(hostname, bad.address, true), '');
        return;
      }
      const first = addresses[0];
      if (first === undefined) {
        const notFound: NodeJS.ErrnoException = new Error(`no addresses for ${hostname}`);
        notFound.code = 'ENOTFOUND';
        callback(notFound, '');
        return;
      }
      if (options.all === true) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}

const systemLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, callback);
};

/**
 * Last line of defence: the address the socket really reached must be public too (the lookup
 * check cannot see a resolver that answers differently on the second query).
 */
export function checkConnectedSocket(socket: Pick<Socket, 'remoteAddress'>, hostname: string): SupplierError | undefined {
  const remote = socket.remoteAddress;
  const cls = remote === undefined ? 'unknown' : classifyAddress(remote);
  if (cls === 'public') return undefined;
  return new SupplierError(
    'SUPPLIER_ADDRESS_BLOCKED',
    `connection to ${hostname} refused: the connected address ${remote ?? '(unknown)'} is ${cls} and not allowed`,
  );
}

/**
 * The undici connector: literal IPs are checked before connecting, names through the guarded
 * lookup, and the connected socket's remote address once more (DNS rebinding, proxies in the
 * resolver). Allowed `host:port` entries bypass the address rule for that host only.
 */
export function createGuardedConnector(config: OutboundConfig, allowed: ReadonlySet<string>): buildConnector.connector {
  const extraCa = config.tlsCa === undefined ? [] : Array.isArray(config.tlsCa) ? config.tlsCa : [config.tlsCa];
  const common = { timeout: config.connectTimeoutMs, ...(extraCa.length === 0 ? {} : { ca: [...rootCertificates, ...extraCa] }) };
  const strict = buildConnector({ ...common, lookup: guardedLookup(config.lookup ?? systemLookup) });
  const lenient = buildConnector({ ...common, ...(config.lookup === undefined ? {} : { lookup: config.lookup }) });
  return (options, callback) => {
    const port = options.port === '' ? defaultPort(options.protocol) : options.port;
    if (allowed.has(hostPortKey(options.hostname, port))) {
      lenient(options, callback);
      return;
    }
    if (isIP(options.hostname) !== 0 && classifyAddress(options.hostname) !== 'public') {
      callback(blockedWithHint(options.hostname, port, options.hostname, false, allowed), null);
      return;
    }
    strict(options, (error, socket) => {
      if (error !== null) {
        const address = error instanceof SupplierError ? refusedAddresses.get(error) : undefined;
        callback(address === undefined ? error : blockedWithHint(options.hostname, port, address, true, allowed), null);
        return;
      }
      const refused = checkConnectedSocket(socket, options.hostname);
      if (refused !== undefined) {
        socket.destroy();
        callback(refused, null);
        return;
      }
      callback(null, socket);
    });
  };
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
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

/** A 2xx answer whose body has not been read yet, and what reading it needs. */
interface OpenAnswer {
  response: Dispatcher.ResponseData;
  contentType: string | undefined;
  /** `performance.now()` when the first request was sent. */
  started: number;
  /** Maps an error met while reading the body (deadline, stall, lost connection). */
  fail(error: unknown): SupplierError;
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
async function refusalOf(response: Dispatcher.ResponseData, secrets: readonly string[], failOnDeadline: (error: unknown) => SupplierError | undefined): Promise<SupplierError> {
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
    retryAfter: response.headers['retry-after'],
    ...(excerpt === undefined ? {} : { body: excerpt }),
    ...(contentType === undefined ? {} : { contentType }),
    secrets,
  });
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

  function portOf(url: URL): string | number {
    return url.port === '' ? defaultPort(url.protocol) : url.port;
  }

  /** Outbound rules for one hop's URL; `redirect` decides which code a refusal carries. */
  function checkHop(url: URL, redirect: boolean): void {
    const label = redirect ? `supplier redirected to ${url.protocol}//${url.host}` : `base_url ${url.protocol}//${url.host}`;
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && config.allowInsecureHttp)) {
      const why = url.protocol === 'http:' ? 'plain http is not allowed, use https' : 'only https URLs are followed';
      throw new SupplierError(redirect ? 'SUPPLIER_REDIRECT_REFUSED' : 'SUPPLIER_ADDRESS_BLOCKED', `${label} refused: ${why}`);
    }
    if (url.username !== '' || url.password !== '') {
      throw new SupplierError(redirect ? 'SUPPLIER_REDIRECT_REFUSED' : 'SUPPLIER_ADDRESS_BLOCKED', `${label} refused: the URL contains credentials`);
    }
    const bare = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    if (isIP(bare) !== 0 && !allowed.has(hostPortKey(url.hostname, portOf(url))) && classifyAddress(bare) !== 'public') {
      throw blockedWithHint(bare, portOf(url), bare, false, allowed);
    }
  }

  /**
   * One exchange with a supplier: follows redirects under the outbound rules, turns a non-2xx
   * answer into a SupplierError, and hands the 2xx answer to `consume` (which reads or drops the
   * body) within the same total deadline.
   */
  async function exchange<T>(target: SupplierTarget, options: FetchOptions, consume: (answer: OpenAnswer) => Promise<T>): Promise<T> {
    const checked = validateBaseUrl(target.baseUrl, { allowInsecureHttp: true });
    if (!checked.ok) throw new SupplierError('SUPPLIER_ADDRESS_BLOCKED', `base_url refused: it ${checked.reason}`);
    const first = new URL(`${checked.url}/products`);
    const totalTimeoutMs = options.totalTimeoutMs ?? config.totalTimeoutMs;
    const authorization = target.authType === 'bearer' ? `Bearer ${target.authKey}` : target.authKey;

    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new DOMException(`total timeout of ${totalTimeoutMs} ms`, 'TimeoutError'));
    }, totalTimeoutMs);
    const onCallerAbort = (): void => controller.abort(options.signal?.reason);
    if (options.signal?.aborted === true) onCallerAbort();
    else options.signal?.addEventListener('abort', onCallerAbort, { once: true });

    const started = performance.now();
    let url = first;
    let phase: TransportPhase = 'connect';
    const fail = (error: unknown): SupplierError =>
      supplierErrorFromTransport(error, {
        host: url.host,
        phase,
        timedOut,
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
          checkHop(url, hop > 0);
          response = await agent.request({ origin: url.origin, path: `${url.pathname}${url.search}`, method: 'GET', headers: requestHeaders(url, first, authorization), signal: controller.signal });
        } catch (error: unknown) {
          throw hop > 0 ? redirectRefusal(fail(error), url) : fail(error);
        }
        if (REDIRECT_STATUSES.has(response.statusCode)) {
          url = await redirectTarget(response, url, hop, config.maxRedirects);
          continue;
        }
        phase = 'body';
        if (response.statusCode < 200 || response.statusCode >= 300) {
          throw await refusalOf(response, [target.authKey], (error) => (timedOut ? fail(error) : undefined));
        }
        return await consume({ response, contentType: firstHeader(response.headers['content-type']), started, fail });
      }
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  function requestHeaders(url: URL, first: URL, authorization: string): Record<string, string> {
    const headers: Record<string, string> = {
      'octo-capabilities': config.capabilities,
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': config.userAgent,
    };
    // Credentials go to the configured origin only, never to where a redirect points.
    if (url.origin === first.origin) headers.authorization = authorization;
    return headers;
  }

  return {
    fetchProducts: (target, options = {}) => exchange(target, options, (answer) => readCatalog(answer, config.maxBodyBytes)),
    probeProducts: (target, options = {}) => exchange(target, options, dropBody),
    close: () => agent.close(),
  };
}

/** Status and headers only: the body is dropped unread, which closes the connection. */
async function dropBody({ response, contentType, started }: OpenAnswer): Promise<ProbedHeaders> {
  // Latency is to the headers: waiting for a first body chunk is not the supplier's answer time.
  const latencyMs = Math.round(performance.now() - started);
  // dump() with a 1-byte limit destroys a body that declares more at once (a chunked one after its
  // first chunk) and swallows the abort that destroying it causes.
  await response.body.dump({ limit: 1 });
  const declared = Number(firstHeader(response.headers['content-length']) ?? NaN);
  const probed: ProbedHeaders = { status: response.statusCode, latencyMs };
  if (contentType !== undefined) probed.contentType = contentType;
  if (Number.isSafeInteger(declared) && declared >= 0) probed.contentLength = declared;
  return probed;
}

/** The whole 2xx body, hashed while it streams in, within `maxBodyBytes`. */
async function readCatalog({ response, contentType, started, fail }: OpenAnswer, maxBodyBytes: number): Promise<FetchedBody> {
  const { statusCode, body } = response;
  const declared = Number(firstHeader(response.headers['content-length']) ?? NaN);
  if (Number.isFinite(declared) && declared > maxBodyBytes) {
    await body.dump();
    throw tooLarge(declared, maxBodyBytes, true, statusCode);
  }
  const hash = createHash('sha256');
  // With a declared length the body is copied into one buffer as it arrives, so the chunks
  // and their concatenation are never held at once; without one (or past it), chunks are
  // collected and joined at the end.
  let whole = Number.isSafeInteger(declared) && declared > 0 ? Buffer.allocUnsafe(declared) : undefined;
  let chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of body) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      if (bytes + buffer.length > maxBodyBytes) {
        body.destroy();
        throw tooLarge(bytes + buffer.length, maxBodyBytes, false, statusCode);
      }
      hash.update(buffer);
      if (whole !== undefined && bytes + buffer.length > whole.length) {
        chunks.push(whole.subarray(0, bytes));
        whole = undefined;
      }
      if (whole === undefined) chunks.push(buffer);
      else buffer.copy(whole, bytes);
      bytes += buffer.length;
    }
  } catch (error: unknown) {
    throw fail(error);
  }
  let received: Buffer;
  if (whole !== undefined) received = bytes === whole.length ? whole : whole.subarray(0, bytes);
  else {
    received = Buffer.concat(chunks, bytes);
    chunks = [];
  }
  const result: FetchedBody = { status: statusCode, body: received, bytes, digest: hash.digest('hex'), latencyMs: Math.round(performance.now() - started) };
  if (contentType !== undefined) result.contentType = contentType;
  return result;
}

function tooLarge(bytes: number, max: number, declared: boolean, status: number): SupplierError {
  const size = declared ? `declares ${bytes} bytes` : `exceeded ${max} bytes while streaming`;
  return new SupplierError('SUPPLIER_BODY_TOO_LARGE', `supplier's catalog ${size}, above the limit of ${max} bytes`, { status });
}
