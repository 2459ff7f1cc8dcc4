import { SUPPLIER_ERROR_CODES, SupplierError, isSupplierError } from './errors';

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
    expect(SUPPLIER_ERROR_CODES).toHaveLength(16);
  });
});
