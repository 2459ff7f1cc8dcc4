import { AppError } from '@octo-sync/platform';

/**
 * Every stable code a {@link SupplierError} can carry. Callers branch on these (the gateway's
 * status table, the worker's retry decision, the sync-log); they are never renamed.
 */
export const SUPPLIER_ERROR_CODES = [
  'SUPPLIER_DNS_FAILED',
  'SUPPLIER_CONNECT_FAILED',
  'SUPPLIER_TIMEOUT',
  'SUPPLIER_TLS_FAILED',
  'SUPPLIER_ADDRESS_BLOCKED',
  'SUPPLIER_REDIRECT_REFUSED',
  'SUPPLIER_REDIRECT_BLOCKED',
  'SUPPLIER_AUTH_REJECTED',
  'SUPPLIER_RATE_LIMITED',
  'SUPPLIER_SERVER_ERROR',
  'SUPPLIER_HTTP_ERROR',
  'SUPPLIER_BODY_TOO_LARGE',
  'SUPPLIER_CONNECTION_LOST',
  'CATALOG_NOT_JSON',
  'CATALOG_INVALID',
] as const;

/** A stable supplier error code, see {@link SUPPLIER_ERROR_CODES}. */
export type SupplierErrorCode = (typeof SUPPLIER_ERROR_CODES)[number];

/**
 * Whether a failure with this code is worth retrying later (network trouble, timeouts, 429, 5xx)
 * or is permanent until a person changes something (credentials, URL, catalog content).
 */
export const SUPPLIER_ERROR_RETRYABLE: Readonly<Record<SupplierErrorCode, boolean>> = {
  SUPPLIER_DNS_FAILED: true,
  SUPPLIER_CONNECT_FAILED: true,
  SUPPLIER_TIMEOUT: true,
  SUPPLIER_TLS_FAILED: false,
  SUPPLIER_ADDRESS_BLOCKED: false,
  SUPPLIER_REDIRECT_REFUSED: false,
  // The base_url is fine; the supplier sends us somewhere we may not go.
  SUPPLIER_REDIRECT_BLOCKED: false,
  SUPPLIER_AUTH_REJECTED: false,
  SUPPLIER_RATE_LIMITED: true,
  SUPPLIER_SERVER_ERROR: true,
  SUPPLIER_HTTP_ERROR: false,
  SUPPLIER_BODY_TOO_LARGE: false,
  SUPPLIER_CONNECTION_LOST: true,
  CATALOG_NOT_JSON: false,
  CATALOG_INVALID: false,
};

/** Options of {@link SupplierError}. */
export interface SupplierErrorOptions {
  /** HTTP status the supplier answered, when it answered. */
  status?: number;
  /** How long the supplier asked us to wait (from `Retry-After`), in milliseconds. */
  retryAfterMs?: number;
  /** The low-level error, kept for logs; never shown to partners. */
  cause?: unknown;
  /** Every individual problem (used by CATALOG_INVALID). */
  details?: readonly string[];
}

/**
 * A failure talking to a supplier or reading what it sent. `message` is written for a partner
 * engineer to act on and never contains the auth key, request headers or more than a short
 * sanitized excerpt of the supplier's own error message.
 */
export class SupplierError extends AppError {
  declare readonly code: SupplierErrorCode;
  /** True when trying again later may succeed (see {@link SUPPLIER_ERROR_RETRYABLE}). */
  readonly retryable: boolean;
  /** HTTP status from the supplier, when there was a response. */
  readonly status?: number;
  /** Delay the supplier asked for via `Retry-After`, in milliseconds. */
  readonly retryAfterMs?: number;

  constructor(code: SupplierErrorCode, message: string, options: SupplierErrorOptions = {}) {
    super(code, message, { cause: options.cause, details: options.details });
    this.retryable = SUPPLIER_ERROR_RETRYABLE[code];
    if (options.status !== undefined) this.status = options.status;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * True for a {@link SupplierError}, also one from a second copy of this module (Jest module
 * registries, bundles): then the stable code and the retryable flag identify it.
 */
export function isSupplierError(value: unknown): value is SupplierError {
  if (value instanceof SupplierError) return true;
  if (!(value instanceof Error)) return false;
  const candidate = value as Error & { code?: unknown; retryable?: unknown };
  return typeof candidate.retryable === 'boolean' && (SUPPLIER_ERROR_CODES as readonly unknown[]).includes(candidate.code);
}

const EXCERPT_MAX = 200;

/**
 * Turn a piece of supplier text into something safe to put in a message: control characters
 * and runs of whitespace become one space, any occurrence of a secret is replaced, and the result
 * is cut to 200 characters.
 */
export function sanitizeExcerpt(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    // Short secrets would blank out ordinary words; real keys are longer than this.
    if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  // eslint-disable-next-line no-control-regex
  out = out.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  if (out.length > EXCERPT_MAX) out = `${out.slice(0, EXCERPT_MAX - 1)}…`;
  return out;
}

/**
 * Parse a `Retry-After` header (delta-seconds or HTTP-date) into milliseconds from `now`.
 * Returns undefined when absent or unparseable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: number = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (typeof raw !== 'string') return undefined;
  const trimmed = raw.trim();
  if (trimmed === '') return undefined;
  if (/^\d+$/.test(trimmed)) {
    const seconds = Number(trimmed);
    return Number.isSafeInteger(seconds) ? seconds * 1000 : undefined;
  }
  // An HTTP-date names a weekday and month; bare numbers like "-5" are not dates here.
  const at = /[a-z]{3}/i.test(trimmed) ? Date.parse(trimmed) : NaN;
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** What we learned from a supplier's non-2xx answer. */
export interface SupplierResponseFacts {
  status: number;
  /** `Retry-After` header value, if any. */
  retryAfter?: string | readonly string[];
  /** The first bytes of the body (callers cap how much they read). */
  body?: Buffer | string;
  /** Content type of the body, used to decide whether it is worth quoting. */
  contentType?: string;
  /** Values that must never appear in a message (the auth key). */
  secrets?: readonly string[];
  /** For tests: the clock `Retry-After` dates are measured against. */
  now?: number;
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  410: 'Gone',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function statusLabel(status: number): string {
  const reason = REASONS[status];
  return reason === undefined ? String(status) : `${status} ${reason}`;
}

/** The `error` code and `errorMessage` of an OCTO error body, or the plain text of any other body. */
export function readSupplierErrorBody(body: Buffer | string | undefined, contentType?: string): { octoCode?: string; text?: string } {
  if (body === undefined || body.length === 0) return {};
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        const record = parsed as Record<string, unknown>;
        const octoCode = typeof record.error === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(record.error) ? record.error.toUpperCase() : undefined;
        const message =
          typeof record.errorMessage === 'string'
            ? record.errorMessage
            : typeof record.message === 'string'
              ? record.message
              : undefined;
        const out: { octoCode?: string; text?: string } = {};
        if (octoCode !== undefined) out.octoCode = octoCode;
        if (message !== undefined) out.text = message;
        return out;
      }
    } catch (error: unknown) {
      // Not JSON after all (truncated or a server that says "{oops}"): quote it as text below.
      if (!(error instanceof Error) || error.name !== 'SyntaxError') throw error;
    }
  }
  // An HTML error page says nothing useful in 200 characters of markup.
  if ((contentType !== undefined && /html/i.test(contentType)) || trimmed.startsWith('<')) return {};
  return trimmed === '' ? {} : { text: trimmed };
}

const AUTH_CODES = new Set(['UNAUTHORIZED', 'FORBIDDEN', 'INVALID_API_KEY', 'UNAUTHENTICATED']);

/**
 * Classify a supplier's non-2xx answer. The OCTO `error` code wins when present (suppliers send
 * 400 for a bad key), otherwise the HTTP status decides.
 */
export function supplierErrorFromResponse(facts: SupplierResponseFacts): SupplierError {
  const { status } = facts;
  const { octoCode, text } = readSupplierErrorBody(facts.body, facts.contentType);
  const excerpt = text === undefined ? '' : sanitizeExcerpt(text, facts.secrets ?? []);
  const said = excerpt === '' ? '' : `; supplier said: "${excerpt}"`;
  const codeNote = octoCode === undefined ? '' : ` (error ${octoCode})`;
  const label = statusLabel(status);
  const retryAfterMs = parseRetryAfter(facts.retryAfter, facts.now);
  const base = { status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };

  if ((octoCode !== undefined && AUTH_CODES.has(octoCode)) || status === 401 || status === 403) {
    return new SupplierError(
      'SUPPLIER_AUTH_REJECTED',
      `supplier answered ${label}${codeNote}: check the auth_key and auth_type${said}`,
      base,
    );
  }
  if (status === 429) {
    const wait = retryAfterMs === undefined ? '' : ` (asked to retry after ${Math.ceil(retryAfterMs / 1000)} s)`;
    return new SupplierError('SUPPLIER_RATE_LIMITED', `supplier answered ${label}${codeNote}: it is rate limiting us${wait}; the sync will be retried${said}`, base);
  }
  if (status >= 500) {
    return new SupplierError('SUPPLIER_SERVER_ERROR', `supplier answered ${label}${codeNote}: its server failed; the sync will be retried${said}`, base);
  }
  const hint = status === 404 || status === 405 ? ': check the base_url (it must be the OCTO API root that serves GET /products)' : '';
  return new SupplierError('SUPPLIER_HTTP_ERROR', `supplier answered ${label}${codeNote} to GET /products${hint}${said}`, base);
}

/** Where in the exchange a transport error happened. */
export type TransportPhase = 'connect' | 'headers' | 'body';

/** Context for {@link supplierErrorFromTransport}. */
export interface TransportContext {
  /** Host (and port, when not the default) we were talking to, for the message. */
  host: string;
  phase: TransportPhase;
  /** Set when our own total deadline fired (as opposed to the caller aborting). */
  totalTimeoutMs?: number;
  timedOut?: boolean;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  stallTimeoutMs?: number;
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'EPROTO',
]);

const TLS_DESCRIPTIONS: Readonly<Record<string, string>> = {
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not yet valid',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the certificate chain contains a self-signed certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the certificate chain is incomplete (missing intermediate certificate?)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the certificate issuer is unknown (missing intermediate certificate?)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate does not cover this host name',
  HOSTNAME_MISMATCH: 'the certificate does not cover this host name',
};

function isTlsCode(code: string): boolean {
  return TLS_CODES.has(code) || code.startsWith('CERT_') || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_');
}

/** The `code` of an error, looking through `cause` and AggregateError members (happy eyeballs). */
export function errorCodeOf(error: unknown, depth = 0): string | undefined {
  if (depth > 4 || error === null || typeof error !== 'object') return undefined;
  const record = error as { code?: unknown; cause?: unknown; errors?: unknown; name?: unknown };
  if (typeof record.code === 'string') return record.code;
  if (Array.isArray(record.errors)) {
    for (const inner of record.errors) {
      const code = errorCodeOf(inner, depth + 1);
      if (code !== undefined) return code;
    }
  }
  if (record.cause !== undefined) return errorCodeOf(record.cause, depth + 1);
  if (record.name === 'AbortError' || record.name === 'TimeoutError') return record.name;
  return undefined;
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA', 'EAI_ADDRFAMILY', 'ESERVFAIL', 'ENODATA']);
const REFUSED_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL']);
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'ERR_STREAM_PREMATURE_CLOSE']);
const ABORT_CODES = new Set(['UND_ERR_ABORTED', 'ABORT_ERR', 'AbortError', 'TimeoutError', 'ETIMEDOUT']);

function within(ms: number | undefined): string {
  return ms === undefined ? '' : ` within ${ms} ms`;
}

/**
 * Map a low-level error (Node, undici, TLS) to a {@link SupplierError}, keeping the original as
 * `cause`. An error that already is a SupplierError passes through unchanged.
 */
export function supplierErrorFromTransport(error: unknown, ctx: TransportContext): SupplierError {
  if (error instanceof SupplierError) return error;
  const { host, phase } = ctx;
  const options = { cause: error };
  if (ctx.timedOut === true) {
    return new SupplierError('SUPPLIER_TIMEOUT', `supplier ${host} did not send the complete catalog${within(ctx.totalTimeoutMs)} (total timeout)`, options);
  }
  const code = errorCodeOf(error) ?? '';
  if (DNS_CODES.has(code)) {
    return new SupplierError('SUPPLIER_DNS_FAILED', `could not resolve host ${host} (DNS ${code}): check the base_url host name`, options);
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new SupplierError('SUPPLIER_TIMEOUT', `could not connect to ${host}${within(ctx.connectTimeoutMs)} (connect timeout)`, options);
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new SupplierError('SUPPLIER_TIMEOUT', `supplier ${host} did not send response headers${within(ctx.headersTimeoutMs)} (headers timeout)`, options);
  }
  if (code === 'UND_ERR_BODY_TIMEOUT') {
    return new SupplierError(
      'SUPPLIER_TIMEOUT',
      `supplier ${host} stalled: it sent no bytes of the catalog for ${ctx.stallTimeoutMs ?? '?'} ms (stall timeout); the sync will be retried`,
      options,
    );
  }
  if (isTlsCode(code)) {
    const what = TLS_DESCRIPTIONS[code] ?? 'the TLS handshake failed';
    return new SupplierError('SUPPLIER_TLS_FAILED', `TLS with ${host} failed: ${what} (${code}); the supplier must serve a valid certificate for its host name`, options);
  }
  if (REFUSED_CODES.has(code)) {
    return new SupplierError('SUPPLIER_CONNECT_FAILED', `connection to ${host} failed (${code}): is the supplier's server up and reachable?`, options);
  }
  if (LOST_CODES.has(code)) {
    if (phase === 'body') {
      return new SupplierError('SUPPLIER_CONNECTION_LOST', `connection to ${host} was lost while receiving the catalog (${code}); the sync will be retried`, options);
    }
    return new SupplierError('SUPPLIER_CONNECT_FAILED', `supplier ${host} closed the connection before answering (${code})`, options);
  }
  if (ABORT_CODES.has(code)) {
    return new SupplierError('SUPPLIER_TIMEOUT', `request to ${host} was aborted before it finished (${code})`, options);
  }
  const kind = error instanceof Error ? error.name : typeof error;
  return new SupplierError(
    phase === 'body' ? 'SUPPLIER_CONNECTION_LOST' : 'SUPPLIER_CONNECT_FAILED',
    `request to ${host} failed${code === '' ? ` (${kind})` : ` (${code})`}`,
    options,
  );
}
