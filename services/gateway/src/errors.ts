import type { ErrorRequestHandler, RequestHandler } from 'express';
import { classifySqlError, sqlStateOf } from '@octo-sync/db';
import { AppError } from '@octo-sync/platform';

/** How one error code is answered: HTTP status and the envelope's short `message` label. */
interface ErrorMapping {
  status: number;
  label: string;
}

/**
 * The one code → HTTP status table. Every error response of the gateway goes through it; a code
 * that is not here is a bug and answers 500.
 */
export const ERROR_STATUS: Readonly<Record<string, ErrorMapping>> = {
  VALIDATION_FAILED: { status: 400, label: 'Validation failed' },
  UNAUTHENTICATED: { status: 401, label: 'Unauthorized' },
  WEBHOOK_SECRET_INVALID: { status: 401, label: 'Unauthorized' },
  WEBHOOK_TIMESTAMP_OUT_OF_RANGE: { status: 401, label: 'Unauthorized' },
  FORBIDDEN: { status: 403, label: 'Forbidden' },
  BUDGET_RAISE_FORBIDDEN: { status: 403, label: 'Forbidden' },
  CROSS_ORIGIN_REFUSED: { status: 403, label: 'Forbidden' },
  CSRF_TOKEN_INVALID: { status: 403, label: 'Forbidden' },
  NOT_FOUND: { status: 404, label: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, label: 'Method not allowed' },
  INTEGRATION_EXISTS: { status: 409, label: 'Integration exists' },
  INTEGRATION_NOT_APPROVED: { status: 409, label: 'Integration not approved' },
  INTEGRATION_INACTIVE: { status: 409, label: 'Integration inactive' },
  WEBHOOK_IN_FLIGHT: { status: 409, label: 'Webhook in flight' },
  JOB_STATE_CONFLICT: { status: 409, label: 'Job state conflict' },
  SIGNING_UNAVAILABLE: { status: 409, label: 'Signing unavailable' },
  NO_DRIFT_PENDING: { status: 409, label: 'No drift pending' },
  ALREADY_LINKED: { status: 409, label: 'Already linked' },
  ALREADY_REMAPPED: { status: 409, label: 'Already remapped' },
  SYNC_IN_PROGRESS: { status: 409, label: 'Sync in progress' },
  PRODUCT_STILL_ACTIVE: { status: 409, label: 'Product still active' },
  REMAP_TARGET_TAKEN: { status: 409, label: 'Remap target taken' },
  REMAP_BUSY: { status: 409, label: 'Remap busy' },
  LINK_REFUSED: { status: 422, label: 'Link refused' },
  REMAP_REFUSED: { status: 422, label: 'Remap refused' },
  PAYLOAD_TOO_LARGE: { status: 413, label: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, label: 'Unsupported media type' },
  CURSOR_EXPIRED: { status: 410, label: 'Cursor expired' },
  CURSOR_AHEAD: { status: 400, label: 'Cursor ahead' },
  RATE_LIMITED: { status: 429, label: 'Too many requests' },
  LOAD_SHED: { status: 429, label: 'Too many requests' },
  TEST_CONNECTION_UNAVAILABLE: { status: 503, label: 'Service unavailable' },
  SERVICE_UNAVAILABLE: { status: 503, label: 'Service unavailable' },
  RECEIVE_TAG_UNAVAILABLE: { status: 503, label: 'Service unavailable' },
  INTERNAL: { status: 500, label: 'Internal error' },
};

/** The body of every error answer: `success: 0`, every problem in `error`, and a stable `reason` code. */
export interface ErrorEnvelope {
  success: 0;
  error: string[];
  message: string;
  code: number;
  reason: string;
}

/**
 * An error meant for the HTTP caller: `details` become the envelope's `error` array. A refusal
 * (4xx) is an expected answer, never logged with a stack, so none is captured for it: on a
 * refused webhook flood, capturing stacks was a measurable share of the work.
 */
export class ApiError extends AppError {
  /** Extra response headers (Retry-After, WWW-Authenticate). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: keyof typeof ERROR_STATUS, details: readonly string[], options: { cause?: unknown; headers?: Record<string, string> } = {}) {
    super(code, details.join('; ') || code, { details, cause: options.cause, expected: ERROR_STATUS[code]!.status < 500 });
    this.headers = options.headers ?? {};
  }
}

export function envelopeFor(code: string, details: readonly string[]): { status: number; body: ErrorEnvelope } {
  const mapping = ERROR_STATUS[code] ?? ERROR_STATUS.INTERNAL!;
  const known = ERROR_STATUS[code] !== undefined;
  return {
    status: mapping.status,
    body: {
      success: 0,
      error: details.length > 0 ? [...details] : [mapping.label.toLowerCase()],
      message: mapping.label,
      code: mapping.status,
      reason: known ? code : 'INTERNAL',
    },
  };
}

/** Error-ish values whose `code` somewhere in the cause chain says Postgres or Redis is away. */
const DOWN_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const DOWN_NAMES = new Set(['PrismaClientInitializationError', 'MaxRetriesPerRequestError', 'ClusterAllFailedError']);
const DOWN_MESSAGES = [
  /Connection is closed/i,
  /enableOfflineQueue/i,
  /connect ECONNREFUSED/i,
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  // Redis Cluster during a failover: no master for a slot yet, a resharding, a replica loading.
  /^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING)\b/,
  /Too many Cluster redirections/i,
  /Failed to refresh slots cache/i,
];

/** True when an error means a dependency (Postgres, Redis) is unreachable: answer 503, not 500. */
export function isDependencyDown(error: unknown, depth = 0): boolean {
  if (depth > 5 || error === null || typeof error !== 'object') return false;
  if (depth === 0 && classifySqlError(error) === 'unavailable') return true;
  const e = error as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && DOWN_CODES.has(e.code)) return true;
  if (typeof e.name === 'string' && DOWN_NAMES.has(e.name)) return true;
  if (typeof e.message === 'string' && DOWN_MESSAGES.some((re) => re.test(e.message as string))) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isDependencyDown(inner, depth + 1))) return true;
  return isDependencyDown(e.cause, depth + 1);
}

/** body-parser's errors carry a `type`; map them to the envelope's error codes. */
function fromBodyParser(err: unknown): ApiError | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  // The router's own client errors: a path parameter that is not valid percent-encoding.
  if ((err as { name?: unknown }).name === 'URIError' && (err as { status?: unknown }).status === 400) {
    return new ApiError('VALIDATION_FAILED', ['path: is not valid percent-encoding'], { cause: err });
  }
  // zlib and brotli errors (Z_DATA_ERROR, ERR__ERROR_FORMAT_…) carry a numeric errno, no type.
  const { errno, status } = err as { errno?: unknown; status?: unknown };
  if (typeof errno === 'number' && status === 400 && !('type' in err)) {
    return new ApiError('VALIDATION_FAILED', ['body: could not be decompressed (it does not match its Content-Encoding)'], { cause: err });
  }
  if (!('type' in err)) return undefined;
  switch (err.type) {
    case 'entity.too.large': {
      const limit = (err as { limit?: unknown }).limit;
      return new ApiError('PAYLOAD_TOO_LARGE', [`body: must be at most ${typeof limit === 'number' ? limit : '?'} bytes`], { cause: err });
    }
    case 'entity.parse.failed':
      return new ApiError('VALIDATION_FAILED', ['body: is not valid JSON (a JSON object is expected)'], { cause: err });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError('UNSUPPORTED_MEDIA_TYPE', ['content-type: must be application/json in UTF-8'], { cause: err });
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
    case 'stream.not.readable':
      return new ApiError('VALIDATION_FAILED', ['body: could not be read'], { cause: err });
    default:
      return undefined;
  }
}

/**
 * The one error middleware: every error answer of the app is written here, as the error envelope.
 * Known codes get their status from {@link ERROR_STATUS}; unreachable dependencies answer 503;
 * anything else is a bug, logged with its stack and answered 500 without details.
 */
export const errorMiddleware: ErrorRequestHandler = (err: unknown, req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  const log = req.log;
  let code: string;
  let details: readonly string[];
  let headers: Readonly<Record<string, string>> = {};
  const parserError = fromBodyParser(err);
  if (err instanceof ApiError) {
    ({ code, details, headers } = err);
  } else if (parserError) {
    ({ code, details } = parserError);
  } else if (err instanceof AppError && ERROR_STATUS[err.code] !== undefined) {
    code = err.code;
    details = err.details.length > 0 ? err.details : [err.message];
  } else if (classifySqlError(err) === 'bad-data') {
    // Validation should have refused the value; the database is the last line, never a 500.
    code = 'VALIDATION_FAILED';
    details = ['body: holds a value that cannot be stored (check for control characters and oversized values)'];
    // The error quotes the statement's parameters: log its SQLSTATE only, never the payload.
    log?.warn({ sqlState: sqlStateOf(err) }, 'database refused a value that passed validation');
  } else if (isDependencyDown(err)) {
    code = 'SERVICE_UNAVAILABLE';
    details = ['a backing service (database or queue) is unreachable; retry shortly'];
    headers = { 'Retry-After': '5' };
    log?.warn({ err }, 'dependency unavailable');
  } else {
    code = 'INTERNAL';
    details = ['an unexpected error occurred; it has been logged'];
    log?.error({ err }, 'unhandled error');
  }
  const { status, body } = envelopeFor(code, details);
  if (status < 500 && log) log.debug({ reason: body.reason, status }, 'request refused');
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.status(status).json(body);
};

/** Unmatched paths answer the envelope too. */
export const notFoundMiddleware: RequestHandler = (_req, _res, next) => {
  next(new ApiError('NOT_FOUND', ['path: no such endpoint']));
};
