import type { LookupFunction } from 'node:net';

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
  /** OCTO API root, already checked by `validateBaseUrl`. */
  baseUrl: string;
  authType: 'bearer' | 'api_key';
  /** The supplier credential; it never appears in an error or log. */
  authKey: string;
}

/** Options of one fetch. */
export interface FetchOptions {
  /** Aborting it fails the fetch with SUPPLIER_TIMEOUT. */
  signal?: AbortSignal;
  /**
   * Request headers added to the client's own, by lower-case name; one of the same name replaces
   * the client's (`octo-capabilities` for one request). Never `authorization`: the credential is
   * the target's.
   */
  headers?: Readonly<Record<string, string>>;
  /** Overrides the configured total deadline (health probes use a short one). */
  totalTimeoutMs?: number;
  /**
   * Ask for content in this language (BCP 47): sends `Accept-Language` and adds `octo/content`
   * to the capabilities asked for (localised content is that capability's).
   */
  locale?: string;
  /**
   * Called before the body is read (0 bytes, so a caller knows the declared size first) and after
   * each chunk, with the bytes received so far and the declared `Content-Length` (null without
   * one). Runs on the read path: it must return at once. It may stop the read by throwing: the
   * body is dropped and the fetch rejects with that very error.
   */
  onBodyProgress?: (received: number, expected: number | null) => void;
}
