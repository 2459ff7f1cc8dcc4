import { validateBaseUrl } from './base-url';

describe('validateBaseUrl', () => {
  const secure = { allowInsecureHttp: false };
  const insecure = { allowInsecureHttp: true };

  it.each([
    ['https://octo.example.com', 'https://octo.example.com'],
    ['https://octo.example.com/', 'https://octo.example.com'],
    ['https://octo.example.com/api/octo///', 'https://octo.example.com/api/octo'],
    ['https://OCTO.Example.com:8443/v1/', 'https://octo.example.com:8443/v1'],
    ['https://octo.example.com:443/v1', 'https://octo.example.com/v1'],
  ])('accepts %s as %s', (raw, url) => {
    expect(validateBaseUrl(raw, secure)).toEqual({ ok: true, url });
  });

  it('requires https unless plain http is allowed', () => {
    expect(validateBaseUrl('http://octo.example.com', secure)).toEqual({ ok: false, reason: 'must use https' });
    expect(validateBaseUrl('http://127.0.0.1:3000/', insecure)).toEqual({ ok: true, url: 'http://127.0.0.1:3000' });
  });

  it.each([
    ['octo.example.com', 'must be an absolute URL'],
    ['/products', 'must be an absolute URL'],
    ['', 'must be an absolute URL'],
    ['ftp://octo.example.com', 'must use http or https'],
    ['javascript:alert(1)', 'must use http or https'],
    ['https://user:pass@octo.example.com', 'must not contain credentials'],
    ['https://key@octo.example.com', 'must not contain credentials'],
    ['https://octo.example.com/?key=1', 'must not contain a query string'],
    ['https://octo.example.com/#x', 'must not contain a fragment'],
    [' https://octo.example.com', 'must not start or end with whitespace'],
    [`https://octo.example.com/${'a'.repeat(2100)}`, 'must be at most 2048 characters'],
  ])('rejects %s', (raw, reason) => {
    const result = validateBaseUrl(raw, insecure);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toContain(reason);
  });
});
