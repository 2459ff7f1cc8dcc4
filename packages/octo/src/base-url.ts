import { allowanceHint, classifyAddress, hostPortKey, type AddressClass } from './address-policy';

// The gateway checks base URLs with this module alone (no outbound client): what it needs is here.
export { parseAllowedHosts } from './address-policy';

/** Result of {@link validateBaseUrl}. */
export type BaseUrlResult = { ok: true; url: string } | { ok: false; reason: string };

const MAX_LENGTH = 2048;

/**
 * Check a partner-supplied OCTO base URL and normalise it (trailing slashes stripped, host
 * lower-cased). `reason` completes a sentence starting with the field name, e.g.
 * `base_url: must use https`.
 */
export function validateBaseUrl(raw: string, options: { allowInsecureHttp: boolean }): BaseUrlResult {
  if (typeof raw !== 'string' || raw.trim() === '') return { ok: false, reason: 'must be an absolute URL' };
  if (raw.length > MAX_LENGTH) return { ok: false, reason: `must be at most ${MAX_LENGTH} characters` };
  if (raw !== raw.trim()) return { ok: false, reason: 'must not start or end with whitespace' };
  if (!URL.canParse(raw)) return { ok: false, reason: 'must be an absolute URL, e.g. https://octo.example.com/api' };
  const url = new URL(raw);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, reason: options.allowInsecureHttp ? 'must use http or https' : 'must use https' };
  }
  if (url.protocol === 'http:' && !options.allowInsecureHttp) return { ok: false, reason: 'must use https' };
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: 'must not contain credentials (user:password@); send the key as auth_key' };
  }
  if (url.hostname === '') return { ok: false, reason: 'must name a host' };
  if (url.search !== '' || raw.includes('?')) return { ok: false, reason: 'must not contain a query string' };
  if (url.hash !== '' || raw.includes('#')) return { ok: false, reason: 'must not contain a fragment (#...)' };
  const normalised = `${url.origin}${url.pathname}`.replace(/\/+$/, '');
  return { ok: true, url: normalised };
}

/**
 * A base URL whose host is written as a non-public address (an IP literal, or `localhost`) can
 * never be fetched unless an operator allowed it: say so when it is set, not at the first sync.
 * Names are left to the outbound client, which checks the address it actually connects to.
 * `allowed` holds normalised `OCTO_ALLOWED_HOSTS` keys ({@link parseAllowedHosts}).
 */
export function unreachableLiteral(baseUrl: string, allowed: ReadonlySet<string>): string | undefined {
  const url = new URL(baseUrl);
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
  const entry = hostPortKey(url.hostname, port);
  if (allowed.has(entry)) return undefined;
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  const cls: AddressClass = host === 'localhost' || host.endsWith('.localhost') ? 'loopback' : classifyAddress(url.hostname);
  if (cls === 'public' || cls === 'not an IP address') return undefined;
  return `points at a ${cls} address; ${allowanceHint(entry, cls)}`;
}
