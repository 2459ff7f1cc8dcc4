import { SupplierError } from './errors';
import { errorCodeOf, supplierErrorFromTransport } from './transport-errors';

function errno(code: string, message = code): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

describe('supplierErrorFromTransport', () => {
  const ctx = { host: 'octo.example.com', phase: 'headers' as const, connectTimeoutMs: 1000, headersTimeoutMs: 2000, stallTimeoutMs: 3000, totalTimeoutMs: 4000 };

  it.each([
    ['ENOTFOUND', 'headers', 'SUPPLIER_DNS_FAILED', true],
    ['EAI_AGAIN', 'headers', 'SUPPLIER_DNS_FAILED', true],
    ['ECONNREFUSED', 'headers', 'SUPPLIER_CONNECT_FAILED', true],
    ['EHOSTUNREACH', 'headers', 'SUPPLIER_CONNECT_FAILED', true],
    ['ECONNRESET', 'headers', 'SUPPLIER_CONNECT_FAILED', true],
    ['UND_ERR_SOCKET', 'headers', 'SUPPLIER_CONNECT_FAILED', true],
    ['ECONNRESET', 'body', 'SUPPLIER_CONNECTION_LOST', true],
    ['UND_ERR_SOCKET', 'body', 'SUPPLIER_CONNECTION_LOST', true],
    ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'body', 'SUPPLIER_CONNECTION_LOST', true],
    ['UND_ERR_CONNECT_TIMEOUT', 'connect', 'SUPPLIER_TIMEOUT', true],
    ['UND_ERR_HEADERS_TIMEOUT', 'headers', 'SUPPLIER_TIMEOUT', true],
    ['UND_ERR_BODY_TIMEOUT', 'body', 'SUPPLIER_TIMEOUT', true],
    ['UND_ERR_ABORTED', 'headers', 'SUPPLIER_TIMEOUT', true],
    ['CERT_HAS_EXPIRED', 'connect', 'SUPPLIER_TLS_FAILED', false],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'connect', 'SUPPLIER_TLS_FAILED', false],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'connect', 'SUPPLIER_TLS_FAILED', false],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'connect', 'SUPPLIER_TLS_FAILED', false],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'connect', 'SUPPLIER_TLS_FAILED', false],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'connect', 'SUPPLIER_TLS_FAILED', false],
  ] as const)('%s during %s -> %s', (code, phase, expected, retryable) => {
    const cause = errno(code);
    const error = supplierErrorFromTransport(cause, { ...ctx, phase });
    expect(error).toMatchObject({ code: expected, retryable });
    expect(error.cause).toBe(cause);
    expect(error.message).toContain('octo.example.com');
  });

  it('writes messages a partner can act on', () => {
    expect(supplierErrorFromTransport(errno('ENOTFOUND'), ctx).message).toBe('could not resolve host octo.example.com (DNS ENOTFOUND): check the base_url host name');
    expect(supplierErrorFromTransport(errno('CERT_HAS_EXPIRED'), ctx).message).toContain('the certificate has expired');
    expect(supplierErrorFromTransport(errno('UND_ERR_HEADERS_TIMEOUT'), ctx).message).toContain('within 2000 ms');
    expect(supplierErrorFromTransport(errno('UND_ERR_BODY_TIMEOUT'), { ...ctx, phase: 'body' }).message).toBe(
      'supplier octo.example.com stalled: it sent no bytes of the catalog for 3000 ms (stall timeout); the sync will be retried',
    );
  });

  it('our own total deadline wins over whatever the abort looked like', () => {
    const error = supplierErrorFromTransport(new DOMException('x', 'AbortError'), { ...ctx, timedOut: true });
    expect(error.code).toBe('SUPPLIER_TIMEOUT');
    expect(error.message).toContain('within 4000 ms (total timeout)');
  });

  it('an abort by the caller is a timeout too', () => {
    expect(supplierErrorFromTransport(new DOMException('x', 'AbortError'), ctx).code).toBe('SUPPLIER_TIMEOUT');
  });

  it('looks through cause chains and AggregateError (happy eyeballs)', () => {
    expect(errorCodeOf(new Error('outer', { cause: errno('ECONNREFUSED') }))).toBe('ECONNREFUSED');
    expect(errorCodeOf(new AggregateError([errno('ECONNREFUSED'), errno('ENETUNREACH')]))).toBe('ECONNREFUSED');
    expect(supplierErrorFromTransport(new AggregateError([errno('ECONNREFUSED')]), ctx).code).toBe('SUPPLIER_CONNECT_FAILED');
  });

  it('passes SupplierErrors through and maps unknown failures by phase', () => {
    const own = new SupplierError('SUPPLIER_ADDRESS_BLOCKED', 'no');
    expect(supplierErrorFromTransport(own, ctx)).toBe(own);
    expect(supplierErrorFromTransport(new Error('weird'), ctx).code).toBe('SUPPLIER_CONNECT_FAILED');
    expect(supplierErrorFromTransport(new Error('weird'), { ...ctx, phase: 'body' }).code).toBe('SUPPLIER_CONNECTION_LOST');
  });
});
