import { hashWebhookSecret, IntegrationStore } from '@octo-sync/db';
import { WebhookAuthCache } from './webhook-auth';

type Credentials = NonNullable<Awaited<ReturnType<IntegrationStore['webhookCredentials']>>>;

const ID = '11111111-1111-4111-8111-111111111111';
const UNKNOWN = '22222222-2222-4222-8222-222222222222';
const SECRET = 'a'.repeat(64);

/** The store's port with rows in memory: counts lookups, and can announce changes like the real one. */
function fakeStore(rows: Map<string, Credentials>) {
  const listeners = new Set<(id: string) => void>();
  const store = {
    lookups: 0,
    webhookCredentials: async (id: string) => {
      store.lookups++;
      return rows.get(id) ?? null;
    },
    checkWebhookSecret: (...args: Parameters<IntegrationStore['checkWebhookSecret']>) => IntegrationStore.prototype.checkWebhookSecret.call(store, ...args),
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
    webhookSecretHash: hashWebhookSecret(SECRET).toString('hex'),
    previousWebhookSecretHash: null,
    previousWebhookSecretExpiresAt: null,
    ...overrides,
  };
}

function setup(ttlMs: number, options: { maxNegativeEntries?: number } = {}) {
  const rows = new Map([[ID, row()]]);
  const store = fakeStore(rows);
  let now = 1_000_000;
  const cache = new WebhookAuthCache(store as unknown as IntegrationStore, { ttlMs, now: () => now, ...options });
  return { rows, store, cache, advance: (ms: number) => (now += ms) };
}

describe('WebhookAuthCache', () => {
  test('applies the store rule: right secret ok (nothing secret in the result), wrong or missing refused', async () => {
    const { cache } = setup(5_000);
    expect(await cache.verify(ID, SECRET)).toEqual({ ok: true, integration: { id: ID, partnerId: 'p1', isApproved: true, isActive: true } });
    expect(await cache.verify(ID, 'b'.repeat(64))).toEqual({ ok: false, why: 'secret' });
    expect(await cache.verify(ID, undefined)).toEqual({ ok: false, why: 'secret' });
    expect(await cache.verify(UNKNOWN, SECRET)).toEqual({ ok: false, why: 'unknown' });
  });

  test('one lookup per id within the TTL; a change made elsewhere is seen once the TTL has passed, not later', async () => {
    const { rows, store, cache, advance } = setup(5_000);
    await cache.verify(ID, SECRET);
    rows.set(ID, row({ isActive: false })); // e.g. another replica deactivated it
    advance(4_999);
    expect((await cache.verify(ID, SECRET)).ok).toBe(true); // stale, within the documented bound
    expect(store.lookups).toBe(1);
    advance(1);
    expect(await cache.verify(ID, SECRET)).toEqual({ ok: false, why: 'inactive' });
    expect(store.lookups).toBe(2);
  });

  test('a change announced by the store (made through this process) applies at once', async () => {
    const { rows, store, cache } = setup(60_000);
    expect((await cache.verify(ID, SECRET)).ok).toBe(true);
    rows.set(ID, row({ deletedAt: new Date() }));
    store.announce(ID);
    expect(await cache.verify(ID, SECRET)).toEqual({ ok: false, why: 'inactive' });
  });

  test('a lookup that was in flight when a change was announced does not fill the cache with the old row', async () => {
    const { rows, store, cache } = setup(60_000);
    const pending = cache.verify(ID, SECRET); // reads the old row
    rows.set(ID, row({ isApproved: false }));
    store.announce(ID);
    await pending;
    expect(await cache.verify(ID, SECRET)).toMatchObject({ ok: true, integration: { isApproved: false } });
  });

  test('concurrent misses share one lookup; ttl 0 looks up every time', async () => {
    const shared = setup(5_000);
    await Promise.all([shared.cache.verify(ID, SECRET), shared.cache.verify(ID, SECRET), shared.cache.verify(ID, 'x')]);
    expect(shared.store.lookups).toBe(1);
    const uncached = setup(0);
    await uncached.cache.verify(ID, SECRET);
    await uncached.cache.verify(ID, SECRET);
    expect(uncached.store.lookups).toBe(2);
    expect(uncached.cache.size).toEqual({ known: 0, unknown: 0 });
  });

  test('unknown ids are cached in a bounded map of their own: a flood of them never evicts a real entry', async () => {
    const { store, cache } = setup(5_000, { maxNegativeEntries: 10 });
    await cache.verify(ID, SECRET);
    for (let i = 0; i < 100; i++) await cache.verify(`33333333-3333-4333-8333-${String(i).padStart(12, '0')}`, SECRET);
    expect(cache.size).toEqual({ known: 1, unknown: 10 });
    const before = store.lookups;
    expect((await cache.verify(ID, SECRET)).ok).toBe(true);
    expect(store.lookups).toBe(before);
  });
});
