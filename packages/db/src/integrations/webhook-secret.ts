import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new webhook secret: 32 random bytes as 64 lowercase hex characters. */
export function generateWebhookSecret(): string {
  return randomBytes(32).toString('hex');
}

/**
 * What we store instead of the secret. The secret has 256 bits of entropy, so a plain SHA-256 is
 * enough (no password hashing needed), and comparing digests keeps the check constant-time
 * whatever the length of the presented value.
 */
export function hashWebhookSecret(secret: string): Buffer {
  // The one-shot form: no Hash object per call (the check runs on every webhook, refused ones too).
  return hash('sha256', secret, 'buffer');
}

/**
 * Constant-time comparison of a presented secret's digest ({@link hashWebhookSecret}: hash it
 * once, compare it with each accepted secret) with a stored digest (hex).
 */
export function webhookDigestMatches(presented: Buffer, storedHex: string | null | undefined): boolean {
  const stored = storedHex && /^[0-9a-f]{64}$/.test(storedHex) ? Buffer.from(storedHex, 'hex') : undefined;
  // With no digest to compare, still do one comparison so that timing does not tell the cases apart.
  const equal = timingSafeEqual(presented, stored ?? NO_DIGEST);
  return equal && stored !== undefined;
}

const NO_DIGEST = Buffer.alloc(32);
