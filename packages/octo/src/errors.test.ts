import { SUPPLIER_ERROR_CODES, SupplierError, errorCodeOf, isSupplierError, parseRetryAfter, sanitizeExcerpt, supplierErrorFromResponse, supplierErrorFromTransport } from './errors';

const KEY = 'sk_live_0123456789abcdef';

function errno(code: string, message = code): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

describe('SupplierError', () => {
  it('derives retryable from the code and keeps status, retryAfterMs, cause', () => {
    const cause = new Error('low level');
    const error = new SupplierError('SUPPLIER_RATE_LIMITED', 'slow down', { status: 429, retryAfterMs: 5000, cause });
    expect(error).toMatchObject({ name: 'SupplierError', code: 'SUPPLIER_RATE_LIMITED', retryable: true, status: 429, retryAfterMs: 5000, cause });
    expect(new SupplierError('SUPPLIER_AUTH_REJECTED', 'no').retryable).toBe(false);
    expect(new SupplierError('CATALOG_INVALID', 'bad', { details: ['a'] }).details).toEqual(['a']);
  });

  it('isSupplierError recognises instances and look-alikes from another module copy', () => {
    expect(isSupplierError(new SupplierError('SUPPLIER_TIMEOUT', 'x'))).toBe(true);
    expect(isSupplierError(Object.assign(new Error('x'), { code: 'SUPPLIER_TIMEOUT', retryable: true }))).toBe(true);
    expect(isSupplierError(Object.assign(new Error('x'), { code: 'ECONNRESET', retryable: true }))).toBe(false);
    expect(isSupplierError({ code: 'SUPPLIER_TIMEOUT', retryable: true })).toBe(false);
  });

  it('a redirect to a blocked address is its own permanent code', () => {
    expect(new SupplierError('SUPPLIER_REDIRECT_BLOCKED', 'no')).toMatchObject({ code: 'SUPPLIER_REDIRECT_BLOCKED', retryable: false });
  });

  it('exports every code once', () => {
    expect(new Set(SUPPLIER_ERROR_CODES).size).toBe(SUPPLIER_ERROR_CODES.length);
    expect(SUPPLIER_ERROR_CODES).toHaveLength(15);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-06-23T06:00:00.000Z');
  it.each([
    ['120', 120_000],
    [' 0 ', 0],
    ['Tue, 23 Jun 2026 06:00:30 GMT', 30_000],
    ['Tue, 23 Jun 2026 05:00:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%s -> %s', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
  it('takes the first of repeated headers', () => {
    expect(parseRetryAfter(['2', '9'], now)).toBe(2000);
  });
});

describe('sanitizeExcerpt', () => {
  it('flattens control characters, redacts secrets and cuts at 200 characters', () => {
    expect(sanitizeExcerpt(`bad key ${KEY}\r\n\tplease\u0000 fix`, [KEY])).toBe('bad key [redacted] please fix');
    const long = sanitizeExcerpt('x'.repeat(500));
    expect(long).toHaveLength(200);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('supplierErrorFromResponse', () => {
  it.each([
    [401, 'SUPPLIER_AUTH_REJECTED', false],
    [403, 'SUPPLIER_AUTH_REJECTED', false],
    [404, 'SUPPLIER_HTTP_ERROR', false],
    [400, 'SUPPLIER_HTTP_ERROR', false],
    [429, 'SUPPLIER_RATE_LIMITED', true],
    [500, 'SUPPLIER_SERVER_ERROR', true],
    [502, 'SUPPLIER_SERVER_ERROR', true],
    [503, 'SUPPLIER_SERVER_ERROR', true],
  ])('status %i -> %s', (status, code, retryable) => {
    const error = supplierErrorFromResponse({ status });
    expect(error).toMatchObject({ code, retryable, status });
  });

  it('401 says what to check', () => {
    expect(supplierErrorFromResponse({ status: 401 }).message).toBe('supplier answered 401 Unauthorized: check the auth_key and auth_type');
  });

  it('classifies on the OCTO error code whatever the status', () => {
    for (const code of ['UNAUTHORIZED', 'FORBIDDEN', 'unauthorized']) {
      const error = supplierErrorFromResponse({ status: 400, body: JSON.stringify({ error: code, errorMessage: 'Invalid API key' }), contentType: 'application/json' });
      expect(error.code).toBe('SUPPLIER_AUTH_REJECTED');
      expect(error.status).toBe(400);
      expect(error.message).toContain(`(error ${code.toUpperCase()})`);
      expect(error.message).toContain('supplier said: "Invalid API key"');
    }
    expect(supplierErrorFromResponse({ status: 400, body: '{"error":"INVALID_PRODUCT_ID","errorMessage":"nope"}' }).code).toBe('SUPPLIER_HTTP_ERROR');
  });

  it('quotes plain-text bodies, skips HTML, and never leaks the key', () => {
    const plain = supplierErrorFromResponse({ status: 500, body: `database down (key ${KEY})`, contentType: 'text/plain', secrets: [KEY] });
    expect(plain.message).toContain('supplier said: "database down (key [redacted])"');
    expect(plain.message).not.toContain(KEY);
    const html = supplierErrorFromResponse({ status: 502, body: '<html><body>Bad gateway</body></html>', contentType: 'text/html' });
    expect(html.message).not.toContain('html');
    const huge = supplierErrorFromResponse({ status: 400, body: 'y'.repeat(10_000) });
    expect(huge.message.length).toBeLessThan(400);
  });

  it('reads Retry-After on 429 and 5xx, as seconds or a date', () => {
    const now = Date.parse('2026-06-23T06:00:00.000Z');
    expect(supplierErrorFromResponse({ status: 429, retryAfter: '7' })).toMatchObject({ code: 'SUPPLIER_RATE_LIMITED', retryAfterMs: 7000 });
    expect(supplierErrorFromResponse({ status: 429, retryAfter: '7' }).message).toContain('retry after 7 s');
    expect(supplierErrorFromResponse({ status: 503, retryAfter: 'Tue, 23 Jun 2026 06:01:00 GMT', now }).retryAfterMs).toBe(60_000);
    expect(supplierErrorFromResponse({ status: 429 }).retryAfterMs).toBeUndefined();
  });
});

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
