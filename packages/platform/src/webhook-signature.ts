import { createHmac, timingSafeEqual } from 'node:crypto';

/*
 * Standard Webhooks (standardwebhooks.com) signatures: `webhook-signature` holds space-separated
 * `v1,<base64 HMAC-SHA256>` entries over `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed
 * with the 32 raw bytes of the integration's secret. Partners sign with any Standard Webhooks
 * library; the tests check this module against the reference package both ways.
 */

/** How far `webhook-timestamp` may be from our clock, either way. */
export const SIGNATURE_TOLERANCE_S = 5 * 60;
const WEBHOOK_ID_MAX = 255;
/** Entries looked at, at most (a sender signs with one or two keys during a rotation). */
const SIGNATURE_ENTRIES_MAX = 8;
const HMAC_BYTES = 32;
const SIGNING_SECRET_PREFIX = 'whsec_';

/** The three signature headers of a delivery, checked for shape. */
export interface SignedDelivery {
  id: string;
  timestamp: string;
  /** Decoded `v1` entries (other versions are ignored). */
  signatures: Buffer[];
}

/** What the headers say: not signed at all, signed but malformed or out of time, or signed. */
export type SignatureHeaders = { kind: 'unsigned' } | { kind: 'malformed' } | { kind: 'stale' } | { kind: 'signed'; delivery: SignedDelivery };

/** Reads the signature headers (`get` is a case-insensitive header lookup); `nowS` in Unix seconds. */
export function readSignatureHeaders(get: (name: string) => string | undefined, nowS: number): SignatureHeaders {
  const id = get('webhook-id');
  const timestamp = get('webhook-timestamp');
  const signature = get('webhook-signature');
  if (id === undefined && timestamp === undefined && signature === undefined) return { kind: 'unsigned' };
  if (id === undefined || timestamp === undefined || signature === undefined) return { kind: 'malformed' };
  if (id.length === 0 || id.length > WEBHOOK_ID_MAX || !/^\d{1,12}$/.test(timestamp)) return { kind: 'malformed' };
  if (Math.abs(nowS - Number(timestamp)) > SIGNATURE_TOLERANCE_S) return { kind: 'stale' };
  const signatures = signature
    .split(' ')
    .slice(0, SIGNATURE_ENTRIES_MAX)
    .flatMap((entry) => {
      const [version, value] = entry.split(',', 2);
      return version === 'v1' && value !== undefined ? [Buffer.from(value, 'base64')] : [];
    });
  if (signatures.length === 0) return { kind: 'malformed' };
  return { kind: 'signed', delivery: { id, timestamp, signatures } };
}

function hmac(key: Buffer, id: string, timestamp: string, body: Buffer): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(body).digest();
}

/**
 * True when any entry is the HMAC of the delivery under any of `keys`. Every key is tried against
 * every entry, each comparison in constant time, so the time taken depends only on how many
 * entries were sent, never on which (if any) matched.
 */
export function signatureMatches(delivery: SignedDelivery, body: Buffer, keys: readonly Buffer[]): boolean {
  let matched = false;
  for (const key of keys) {
    const expected = hmac(key, delivery.id, delivery.timestamp, body);
    for (const presented of delivery.signatures) {
      const sameLength = presented.length === HMAC_BYTES;
      const equal = timingSafeEqual(sameLength ? presented : expected, expected) && sameLength;
      matched = equal || matched;
    }
  }
  return matched;
}

/** The `webhook-signature` value for a delivery: what a partner's sender computes. */
export function signDelivery(key: Buffer, id: string, timestamp: string, body: Buffer): string {
  return `v1,${hmac(key, id, timestamp, body).toString('base64')}`;
}

/** The hex webhook secret as Standard Webhooks libraries take it: `whsec_<base64 of the 32 raw bytes>`. */
export function signingSecretOf(hexSecret: string): string {
  return SIGNING_SECRET_PREFIX + Buffer.from(hexSecret, 'hex').toString('base64');
}

/** The raw key of a secret given as 64 hex characters or as `whsec_<base64>`; undefined if neither. */
export function signingKeyOf(secret: string): Buffer | undefined {
  if (/^[0-9a-f]{64}$/i.test(secret)) return Buffer.from(secret, 'hex');
  if (!secret.startsWith(SIGNING_SECRET_PREFIX)) return undefined;
  const key = Buffer.from(secret.slice(SIGNING_SECRET_PREFIX.length), 'base64');
  return key.length > 0 ? key : undefined;
}
