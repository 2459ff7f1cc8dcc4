import { SupplierError } from './errors';

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
