import { z } from 'zod';
import { requestSchemas } from './request-schemas';
import { prefersAsync } from './sync-request';
import { formatIssues, friendlyErrors } from './validation';

describe('base_url in request schemas', () => {
  const allowed = new Set(['127.0.0.1:3002']);
  const schema = requestSchemas({ allowInsecureOctoUrls: true, allowedHosts: allowed }).patchIntegration;
  const reasons = (base_url: string) => {
    const result = schema.safeParse({ base_url }, { error: friendlyErrors });
    return result.success ? result.data.base_url : formatIssues(result.error.issues);
  };

  test('the outbound client rule: normalised, or every reason it gives', () => {
    expect(reasons('https://OCTO.example.com/api///')).toBe('https://octo.example.com/api');
    expect(reasons('ftp://octo.example.com')).toEqual(['base_url: must use http or https']);
    expect(requestSchemas({ allowInsecureOctoUrls: false, allowedHosts: allowed }).patchIntegration.safeParse({ base_url: 'http://x.example.com' }).success).toBe(false);
  });

  test.each([
    ['http://127.0.0.1:3002/', 'http://127.0.0.1:3002'],
    ['http://10.0.0.7', ['base_url: points at a private address; only public addresses can be reached, unless an operator adds 10.0.0.7:80 to OCTO_ALLOWED_HOSTS']],
    ['http://localhost:3002', ['base_url: points at a loopback address; only public addresses can be reached, unless an operator adds localhost:3002 to OCTO_ALLOWED_HOSTS']],
    ['https://[::1]/', ['base_url: points at a loopback address; only public addresses can be reached, unless an operator adds [::1]:443 to OCTO_ALLOWED_HOSTS']],
    ['http://169.254.169.254/latest', ['base_url: points at a cloud-metadata address; only public addresses can be reached']],
    ['https://octo.example.com', 'https://octo.example.com'],
  ])('address literal %s → %p', (raw, expected) => {
    expect(reasons(raw)).toEqual(expected);
  });
});

describe('formatIssues', () => {
  test('lists every problem as "<field>: <reason>", unknown keys one by one', () => {
    const { createIntegration } = requestSchemas({ allowInsecureOctoUrls: false, allowedHosts: new Set() });
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
