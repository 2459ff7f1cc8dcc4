import { SupplierError } from './errors';

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
  // \p{Cc}: the C0 and C1 control characters, U+0000 to U+001F and U+007F to U+009F.
  out = out.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ').replace(/\s+/g, ' ').trim();
  if (out.length > EXCERPT_MAX) out = `${out.slice(0, EXCERPT_MAX - 1)}…`;
  return out;
}

/**
 * Parse a `Retry-After` header (delta-seconds or HTTP-date) into milliseconds from `now`.
 * Returns undefined when absent or unparseable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: number = Date.now()): number | undefined {
  const raw = typeof value === 'string' || value === undefined ? value : value[0];
  if (raw === undefined) return undefined;
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
  /** The call that was answered, as the message names it (default `GET /products`). */
  request?: string;
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
function readSupplierErrorBody(body: Buffer | string | undefined, contentType?: string): { octoCode?: string; text?: string } {
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
  const base = { status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }), ...(octoCode === undefined ? {} : { octoCode }) };

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
  const request = facts.request ?? 'GET /products';
  const rootMissed = (status === 404 || status === 405) && request === 'GET /products';
  const hint = rootMissed ? ': check the base_url (it must be the OCTO API root that serves GET /products)' : '';
  return new SupplierError('SUPPLIER_HTTP_ERROR', `supplier answered ${label}${codeNote} to ${request}${hint}${said}`, base);
}
