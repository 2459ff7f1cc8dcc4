import { z } from 'zod';
import { normaliseBaseUrl, requestSchemas } from './schemas';
import { prefersAsync } from './sync-request';
import { formatIssues, friendlyErrors } from './validation';

describe('normaliseBaseUrl', () => {
  test.each([
    ['https://octo.example.com/', 'https://octo.example.com'],
    ['https://OCTO.example.com/api///', 'https://octo.example.com/api'],
    ['https://octo.example.com:8443/v1', 'https://octo.example.com:8443/v1'],
  ])('%s → %s', (raw, url) => {
    expect(normaliseBaseUrl(raw, false)).toEqual({ ok: true, url });
  });

  test.each([
    ['http://octo.example.com', false, 'must be an absolute https URL'],
    ['octo.example.com', false, 'must be an absolute https URL'],
    ['ftp://octo.example.com', true, 'must be an absolute http(s) URL'],
    ['https://a:b@octo.example.com', false, 'must not contain credentials (user:password@); send the key as auth_key'],
    ['https://octo.example.com?', false, 'must not contain a query string'],
    ['https://octo.example.com#', false, 'must not contain a fragment (#...)'],
    [`https://x.com/${'a'.repeat(2100)}`, false, 'must be at most 2048 characters'],
  ])('%s (insecure allowed: %s) → %s', (raw, insecure, reason) => {
    expect(normaliseBaseUrl(raw, insecure)).toEqual({ ok: false, reason });
  });

  test('http is fine when allowed', () => {
    expect(normaliseBaseUrl('http://127.0.0.1:9000/', true)).toEqual({ ok: true, url: 'http://127.0.0.1:9000' });
  });
});

describe('formatIssues', () => {
  test('lists every problem as "<field>: <reason>", unknown keys one by one', () => {
    const { createIntegration } = requestSchemas({ allowInsecureOctoUrls: false });
    const result = createIntegration.safeParse({ auth_type: 'x', auth_key: 5, a: 1, b: 2 }, { error: friendlyErrors });
    expect(result.success).toBe(false);
    expect(formatIssues(result.error!.issues)).toEqual([
      'base_url: is required',
      'auth_type: must be one of "bearer", "api_key"',
      'auth_key: must be a string',
      'handles_ticket_delivery: is required',
      'a: is not a known field',
      'b: is not a known field',
    ]);
  });

  test('root problems name the root', () => {
    const result = z.object({}).safeParse([], { error: friendlyErrors });
    expect(formatIssues(result.error!.issues, 'query')).toEqual(['query: must be a JSON object']);
  });
});

describe('prefersAsync', () => {
  test.each([
    ['respond-async', true],
    ['wait=10, respond-async', true],
    ['RESPOND-ASYNC; foo=bar', true],
    ['return=minimal', false],
    [undefined, false],
    ['respond-asyncx', false],
  ])('%p → %p', (header, expected) => {
    expect(prefersAsync(header)).toBe(expected);
  });
});
