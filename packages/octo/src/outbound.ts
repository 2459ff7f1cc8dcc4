import { createHash } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { rootCertificates } from 'node:tls';
import { ConfigError } from '@octo-sync/platform';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { classifyAddress, hostPortKey, parseAllowedHosts } from './address-policy';
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
  /** Longest silence between two body chunks. */
  bodyTimeoutMs: number;
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

/** The outbound OCTO client: one undici Agent with the SSRF-checking connector. */
export interface SupplierClient {
  /** GET {baseUrl}/products. Resolves on 2xx with the raw bytes; rejects with SupplierError otherwise. */
  fetchProducts(target: SupplierTarget, options?: FetchOptions): Promise<FetchedBody>;
  /** Close the connection pool (waits for requests in flight). */
  close(): Promise<void>;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const ERROR_BODY_BYTES = 16 * 1024;

function defaultPort(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}

function blockedError(host: string, address: string, viaName: boolean): SupplierError {
  const cls = classifyAddress(address);
  const hint = 'only public addresses can be reached';
  const message = viaName
    ? `connection to ${host} refused: it resolves to ${address}, which is ${cls} and not allowed; ${hint}`
    : `connection to ${address} refused: address is ${cls} and not allowed; ${hint}`;
  return new SupplierError('SUPPLIER_ADDRESS_BLOCKED', message);
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
      callback(blockedError(options.hostname, options.hostname, false), null);
      return;
    }
    strict(options, (error, socket) => {
      if (error !== null) {
        callback(error, null);
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

/** Create the outbound supplier client. Throws ConfigError on malformed `allowedHosts`. */
export function createSupplierClient(config: OutboundConfig): SupplierClient {
  const { keys: allowed, problems } = parseAllowedHosts(config.allowedHosts);
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => `allowedHosts ${problem}`));
  const agent = new Agent({
    connect: createGuardedConnector(config, allowed),
    headersTimeout: config.headersTimeoutMs,
    bodyTimeout: config.bodyTimeoutMs,
  });

  function isAllowedHost(url: URL): boolean {
    return allowed.has(hostPortKey(url.hostname, url.port === '' ? defaultPort(url.protocol) : url.port));
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
    if (isIP(bare) !== 0 && !isAllowedHost(url) && classifyAddress(bare) !== 'public') throw blockedError(url.host, bare, false);
  }

  async function fetchProducts(target: SupplierTarget, options: FetchOptions = {}): Promise<FetchedBody> {
    const checked = validateBaseUrl(target.baseUrl, { allowInsecureHttp: true });
    if (!checked.ok) throw new SupplierError('SUPPLIER_ADDRESS_BLOCKED', `base_url refused: it ${checked.reason}`);
    const first = new URL(`${checked.url}/products`);
    const totalTimeoutMs = options.totalTimeoutMs ?? config.totalTimeoutMs;
    const authorization = target.authType === 'bearer' ? `Bearer ${target.authKey}` : target.authKey;
    const secrets = [target.authKey];

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
        bodyTimeoutMs: config.bodyTimeoutMs,
      });

    try {
      for (let hop = 0; ; hop++) {
        checkHop(url, hop > 0);
        const headers: Record<string, string> = {
          'octo-capabilities': config.capabilities,
          'content-type': 'application/json',
          accept: 'application/json',
          'user-agent': config.userAgent,
        };
        // Credentials go to the configured origin only, never to where a redirect points.
        if (url.origin === first.origin) headers.authorization = authorization;

        phase = 'headers';
        let response: Dispatcher.ResponseData;
        try {
          response = await agent.request({
            origin: url.origin,
            path: `${url.pathname}${url.search}`,
            method: 'GET',
            headers,
            signal: controller.signal,
          });
        } catch (error: unknown) {
          throw fail(error);
        }
        const { statusCode, body } = response;
        const contentType = firstHeader(response.headers['content-type']);

        if (REDIRECT_STATUSES.has(statusCode)) {
          // dump() reads a small body to the end (or drops a big one) and handles its own errors.
          await body.dump();
          const location = firstHeader(response.headers.location);
          if (location === undefined || location === '') {
            throw new SupplierError('SUPPLIER_HTTP_ERROR', `supplier answered ${statusCode} (a redirect) without a Location header`, { status: statusCode });
          }
          if (hop >= config.maxRedirects) {
            throw new SupplierError('SUPPLIER_REDIRECT_REFUSED', `supplier redirected more than ${config.maxRedirects} times; point base_url at the final address`, { status: statusCode });
          }
          let next: URL;
          try {
            next = new URL(location, url);
          } catch (error: unknown) {
            throw new SupplierError('SUPPLIER_REDIRECT_REFUSED', `supplier redirected to an invalid URL`, { status: statusCode, cause: error });
          }
          url = next;
          continue;
        }

        if (statusCode < 200 || statusCode >= 300) {
          phase = 'body';
          let excerpt: Buffer | undefined;
          try {
            excerpt = await readCapped(body, ERROR_BODY_BYTES);
          } catch (error: unknown) {
            // The status alone classifies the failure; a broken error body must not hide it.
            if (timedOut) throw fail(error);
            excerpt = undefined;
          }
          throw supplierErrorFromResponse({
            status: statusCode,
            retryAfter: response.headers['retry-after'],
            ...(excerpt === undefined ? {} : { body: excerpt }),
            ...(contentType === undefined ? {} : { contentType }),
            secrets,
          });
        }

        const declared = Number(firstHeader(response.headers['content-length']) ?? NaN);
        if (Number.isFinite(declared) && declared > config.maxBodyBytes) {
          await body.dump();
          throw tooLarge(declared, config.maxBodyBytes, true, statusCode);
        }

        phase = 'body';
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
            if (bytes + buffer.length > config.maxBodyBytes) {
              body.destroy();
              throw tooLarge(bytes + buffer.length, config.maxBodyBytes, false, statusCode);
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
        const result: FetchedBody = {
          status: statusCode,
          body: received,
          bytes,
          digest: hash.digest('hex'),
          latencyMs: Math.round(performance.now() - started),
        };
        if (contentType !== undefined) result.contentType = contentType;
        return result;
      }
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  return {
    fetchProducts,
    close: () => agent.close(),
  };
}

function tooLarge(bytes: number, max: number, declared: boolean, status: number): SupplierError {
  const size = declared ? `declares ${bytes} bytes` : `exceeded ${max} bytes while streaming`;
  return new SupplierError('SUPPLIER_BODY_TOO_LARGE', `supplier's catalog ${size}, above the limit of ${max} bytes`, { status });
}
