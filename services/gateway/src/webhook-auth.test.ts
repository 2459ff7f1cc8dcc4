import { hashWebhookSecret, WebhookSecretStore, type WebhookCredentials, type WebhookProof } from '@octo-sync/db';
import { WebhookAuthCache } from './webhook-auth';
import { readSignatureHeaders, signatureMatches, signDelivery } from '@octo-sync/platform';

type Credentials = WebhookCredentials;

const ID = '11111111-1111-4111-8111-111111111111';
const UNKNOWN = '22222222-2222-4222-8222-222222222222';
const SECRET = 'a'.repeat(64);

/** The store's port with rows in memory: counts lookups, and can announce changes like the real one. */
function fakeStore(rows: Map<string, Credentials>) {
  const listeners = new Set<(id: string) => void>();
  const store = {
    lookups: 0,
    credentials: async (id: string) => {
      store.lookups++;
      return rows.get(id) ?? null;
    },
    check: (...args: Parameters<WebhookSecretStore['check']>) => WebhookSecretStore.prototype.check.call(store, ...args),
    onChange: (listener: (id: string) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    announce: (id: string) => listeners.forEach((l) => l(id)),
  };
  return store;
}

function row(overrides: Partial<Credentials> = {}): Credentials {
  return {
    id: ID,
    partnerId: 'p1',
    isApproved: true,
    isActive: true,
    deletedAt: null,
    webhookAuth: 'secret_or_signature',
    current: { digest: hashWebhookSecret(SECRET).toString('hex'), key: Buffer.from(SECRET, 'hex') },
    previous: null,
    ...overrides,
  };
}

/** The header proof of a presented secret. */
const proof = (presented: string | undefined): WebhookProof => ({ kind: 'secret', presented });

function setup(ttlMs: number, options: { maxNegativeEntries?: number } = {}) {
  const rows = new Map([[ID, row()]]);
  const store = fakeStore(rows);
  let now = 1_000_000;
  const cache = new WebhookAuthCache(store as unknown as WebhookSecretStore, { ttlMs, now: () => now, ...options });
  return { rows, store, cache, advance: (ms: number) => (now += ms) };
}

describe('WebhookAuthCache', () => {
  test('applies the store rule: right secret ok (nothing secret in the result), wrong or missing refused', async () => {
    const { cache } = setup(5_000);
    expect(await cache.verify(ID, proof(SECRET))).toEqual({ ok: true, integration: { id: ID, partnerId: 'p1', isApproved: true, isActive: true } });
    expect(await cache.verify(ID, proof('b'.repeat(64)))).toEqual({ ok: false, why: 'secret' });
    expect(await cache.verify(ID, proof(undefined))).toEqual({ ok: false, why: 'secret' });
    expect(await cache.verify(UNKNOWN, proof(SECRET))).toEqual({ ok: false, why: 'unknown' });
  });

  test('one lookup per id within the TTL; a change made elsewhere is seen once the TTL has passed, not later', async () => {
    const { rows, store, cache, advance } = setup(5_000);
    await cache.verify(ID, proof(SECRET));
    rows.set(ID, row({ isActive: false })); // e.g. another replica deactivated it
    advance(4_999);
    expect((await cache.verify(ID, proof(SECRET))).ok).toBe(true); // stale, within the documented bound
    expect(store.lookups).toBe(1);
    advance(1);
    expect(await cache.verify(ID, proof(SECRET))).toEqual({ ok: false, why: 'inactive' });
    expect(store.lookups).toBe(2);
  });

  test('verifyCached answers from the cache at once, and nothing before a lookup, after the TTL, after a clear, or with the cache off', async () => {
    const { cache, advance } = setup(5_000);
    expect(cache.verifyCached(ID, proof(SECRET))).toBeUndefined();
    await cache.verify(ID, proof(SECRET));
    await cache.verify(UNKNOWN, proof(SECRET));
    expect(cache.verifyCached(ID, proof(SECRET))).toEqual(await cache.verify(ID, proof(SECRET)));
    expect(cache.verifyCached(ID, proof('b'.repeat(64)))).toEqual({ ok: false, why: 'secret' });
    expect(cache.verifyCached(UNKNOWN, proof(SECRET))).toEqual({ ok: false, why: 'unknown' });
    cache.clear();
    expect(cache.verifyCached(ID, proof(SECRET))).toBeUndefined();
    await cache.verify(ID, proof(SECRET));
    advance(5_000);
    expect(cache.verifyCached(ID, proof(SECRET))).toBeUndefined();
    const off = setup(0).cache;
    await off.verify(ID, proof(SECRET));
    expect(off.verifyCached(ID, proof(SECRET))).toBeUndefined();
  });

  test('a change announced by the store (made through this process) applies at once', async () => {
    const { rows, store, cache } = setup(60_000);
    expect((await cache.verify(ID, proof(SECRET))).ok).toBe(true);
    rows.set(ID, row({ deletedAt: new Date() }));
    store.announce(ID);
    expect(await cache.verify(ID, proof(SECRET))).toEqual({ ok: false, why: 'inactive' });
  });

  test('a lookup that was in flight when a change was announced does not fill the cache with the old row', async () => {
    const { rows, store, cache } = setup(60_000);
    const pending = cache.verify(ID, proof(SECRET)); // reads the old row
    rows.set(ID, row({ isApproved: false }));
    store.announce(ID);
    await pending;
    expect(await cache.verify(ID, proof(SECRET))).toMatchObject({ ok: true, integration: { isApproved: false } });
  });

  test('concurrent misses share one lookup; ttl 0 looks up every time', async () => {
    const shared = setup(5_000);
    await Promise.all([shared.cache.verify(ID, proof(SECRET)), shared.cache.verify(ID, proof(SECRET)), shared.cache.verify(ID, proof('x'))]);
    expect(shared.store.lookups).toBe(1);
    const uncached = setup(0);
    await uncached.cache.verify(ID, proof(SECRET));
    await uncached.cache.verify(ID, proof(SECRET));
    expect(uncached.store.lookups).toBe(2);
    expect(uncached.cache.size).toEqual({ known: 0, unknown: 0 });
  });

  test('unknown ids are cached in a bounded map of their own: a flood of them never evicts a real entry', async () => {
    const { store, cache } = setup(5_000, { maxNegativeEntries: 10 });
    await cache.verify(ID, proof(SECRET));
    for (let i = 0; i < 100; i++) await cache.verify(`33333333-3333-4333-8333-${String(i).padStart(12, '0')}`, proof(SECRET));
    expect(cache.size).toEqual({ known: 1, unknown: 10 });
    const before = store.lookups;
    expect((await cache.verify(ID, proof(SECRET))).ok).toBe(true);
    expect(store.lookups).toBe(before);
  });
});

describe('the webhook rule (WebhookSecretStore.check)', () => {
  const OLD = 'c'.repeat(64);
  const BODY = Buffer.from('{}');
  const at = new Date('2026-12-01T00:00:00.000Z');
  const check = (credentials: Credentials, p: WebhookProof, now = at) => WebhookSecretStore.prototype.check.call({}, credentials, p, now);
  const signedWith = (secret: string): WebhookProof => {
    const ts = String(Math.floor(at.getTime() / 1000));
    const read = readSignatureHeaders((name) => ({ 'webhook-id': 'msg_1', 'webhook-timestamp': ts, 'webhook-signature': signDelivery(Buffer.from(secret, 'hex'), 'msg_1', ts, BODY) })[name], Number(ts));
    if (read.kind !== 'signed') throw new Error('test delivery is not signed');
    return { kind: 'signature', matches: (keys) => signatureMatches(read.delivery, BODY, keys) };
  };
  const rotated = row({ previous: { digest: hashWebhookSecret(OLD).toString('hex'), key: Buffer.from(OLD, 'hex'), expiresAt: new Date(at.getTime() + 60_000) } });

  test('a signature with the current key passes; with another key, or for an integration without a key, it does not', () => {
    expect(check(row(), signedWith(SECRET)).ok).toBe(true);
    expect(check(row(), signedWith('d'.repeat(64)))).toEqual({ ok: false, why: 'signature' });
    expect(check(row({ current: { digest: hashWebhookSecret(SECRET).toString('hex'), key: null } }), signedWith(SECRET))).toEqual({ ok: false, why: 'signature' });
  });

  test('the previous secret passes (header and signature) until it expires, then neither does', () => {
    expect(check(rotated, proof(OLD)).ok).toBe(true);
    expect(check(rotated, signedWith(OLD)).ok).toBe(true);
    const later = new Date(at.getTime() + 60_000);
    expect(check(rotated, proof(OLD), later)).toEqual({ ok: false, why: 'secret' });
    expect(check(rotated, signedWith(OLD), later)).toEqual({ ok: false, why: 'signature' });
    expect(check(rotated, proof(SECRET), later).ok).toBe(true);
  });

  test('in signature mode the bare header is refused, a signature passes', () => {
    const signatureOnly = row({ webhookAuth: 'signature' });
    expect(check(signatureOnly, proof(SECRET))).toEqual({ ok: false, why: 'mode' });
    expect(check(signatureOnly, signedWith(SECRET)).ok).toBe(true);
  });
});
