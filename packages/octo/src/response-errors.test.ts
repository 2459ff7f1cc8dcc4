import { parseRetryAfter, sanitizeExcerpt, supplierErrorFromResponse } from './response-errors';

const KEY = 'sk_live_0123456789abcdef';

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

  it('names the call that was answered, and points at base_url only when GET /products was not found', () => {
    expect(supplierErrorFromResponse({ status: 404 }).message).toBe('supplier answered 404 Not Found to GET /products: check the base_url (it must be the OCTO API root that serves GET /products)');
    expect(supplierErrorFromResponse({ status: 404, request: 'POST /availability' }).message).toBe('supplier answered 404 Not Found to POST /availability');
    expect(supplierErrorFromResponse({ status: 400, request: 'GET /products/p1' }).message).toBe('supplier answered 400 Bad Request to GET /products/p1');
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
