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
  'AVAILABILITY_INVALID',
] as const;

/** A stable supplier error code, see {@link SUPPLIER_ERROR_CODES}. */
export type SupplierErrorCode = (typeof SUPPLIER_ERROR_CODES)[number];

/**
 * Whether a failure with this code is worth retrying later (network trouble, timeouts, 429, 5xx)
 * or is permanent until a person changes something (credentials, URL, catalog content).
 */
const SUPPLIER_ERROR_RETRYABLE: Readonly<Record<SupplierErrorCode, boolean>> = {
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
  AVAILABILITY_INVALID: false,
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
  /** The OCTO `error` code of the supplier's answer, when it sent one. */
  octoCode?: string;
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
  /** The OCTO `error` code of the supplier's answer (`INVALID_PRODUCT_ID`…), when it sent one. */
  readonly octoCode?: string;

  constructor(code: SupplierErrorCode, message: string, options: SupplierErrorOptions = {}) {
    super(code, message, { cause: options.cause, details: options.details });
    this.retryable = SUPPLIER_ERROR_RETRYABLE[code];
    if (options.status !== undefined) this.status = options.status;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.octoCode !== undefined) this.octoCode = options.octoCode;
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
