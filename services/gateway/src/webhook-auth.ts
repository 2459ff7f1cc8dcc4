import type { WebhookAuth, WebhookCredentials, WebhookProof, WebhookSecretStore } from '@octo-sync/db';

type Credentials = WebhookCredentials | null;

/** The integration a webhook route's auth step let through (no secret material in it). */
export type WebhookIntegration = Extract<WebhookAuth, { ok: true }>['integration'];

/** Known ids kept at most; past it the least recently used go first. */
const WEBHOOK_AUTH_CACHE_MAX = 5_000;
/**
 * Unknown ids kept at most, in a map of their own: a flood of made-up ids can evict only other
 * made-up ids, never a real integration's entry, and never grows memory past this bound.
 */
const WEBHOOK_AUTH_NEGATIVE_MAX = 1_000;

export interface WebhookAuthCacheOptions {
  /** How long a looked-up row is trusted; 0 disables the cache (one query per webhook). */
  ttlMs: number;
  maxEntries?: number;
  maxNegativeEntries?: number;
  /** Milliseconds clock (tests). */
  now?: () => number;
}

interface Entry {
  credentials: Credentials;
  expiresAt: number;
}

/** A Map used as an LRU: insertion order is recency order; a hit re-inserts its key. */
class Lru {
  private readonly map = new Map<string, Entry>();
  constructor(private readonly max: number) {}
  get(key: string): Entry | undefined {
    const entry = this.map.get(key);
    if (entry) {
      this.map.delete(key);
      this.map.set(key, entry);
    }
    return entry;
  }
  set(key: string, entry: Entry): void {
    this.map.delete(key);
    this.map.set(key, entry);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  clear(): void {
    this.map.clear();
  }
  get size(): number {
    return this.map.size;
  }
}

/**
 * The webhook check (secret header or signature) with the integration's credentials cached in
 * this process, so the hot webhook path does no query per call.
 *
 * Staleness bound: a change this process makes through the store (update, soft delete,
 * approve/revoke, activate/deactivate, secret rotation: {@link IntegrationStore.onChange}) takes
 * effect here at once, and on the other gateway replicas as soon as they hear of it
 * ({@link CredentialChangeFeed}: the app calls {@link invalidate}). A change made anywhere else (a
 * direct SQL update), or announced while a replica's subscription was down, is seen within
 * `ttlMs`: the bound no change can outlive.
 *
 * The rule itself is the store's ({@link WebhookSecretStore.check}), applied to the
 * cached row on every call: the constant-time comparison and the single 401 for every failure
 * are unchanged. Unknown ids are cached too (briefly, in a bounded map of their own).
 */
export class WebhookAuthCache {
  private readonly known: Lru;
  private readonly unknown: Lru;
  private readonly inflight = new Map<string, Promise<Credentials>>();
  /** Bumped by every invalidation: a lookup that started before one does not fill the cache. */
  private generation = 0;
  private readonly now: () => number;

  constructor(
    private readonly store: WebhookSecretStore,
    private readonly options: WebhookAuthCacheOptions,
  ) {
    this.known = new Lru(options.maxEntries ?? WEBHOOK_AUTH_CACHE_MAX);
    this.unknown = new Lru(options.maxNegativeEntries ?? WEBHOOK_AUTH_NEGATIVE_MAX);
    this.now = options.now ?? Date.now;
    store.onChange((id) => this.invalidate(id));
  }

  /**
   * The verdict from cached credentials, at once (no promise: most webhooks, refused floods
   * included, are answered from the cache); undefined when `id` is not cached, so {@link verify}.
   */
  verifyCached(id: string, proof: WebhookProof): WebhookAuth | undefined {
    if (this.options.ttlMs <= 0) return undefined;
    const now = this.now();
    const cached = this.known.get(id) ?? this.unknown.get(id);
    return cached && cached.expiresAt > now ? this.store.check(cached.credentials, proof, new Date(now)) : undefined;
  }

  async verify(id: string, proof: WebhookProof): Promise<WebhookAuth> {
    const credentials = await this.credentials(id);
    return this.store.check(credentials, proof, new Date(this.now()));
  }

  /** Drops what is known about `id` (and any lookup of it still in flight). */
  invalidate(id: string): void {
    this.generation++;
    this.known.delete(id);
    this.unknown.delete(id);
    this.inflight.delete(id);
  }

  /** Drops everything (changes may have been missed: see {@link CredentialChangeFeed}). */
  clear(): void {
    this.generation++;
    this.known.clear();
    this.unknown.clear();
    this.inflight.clear();
  }

  /** Entries held (tests, metrics). */
  get size(): { known: number; unknown: number } {
    return { known: this.known.size, unknown: this.unknown.size };
  }

  private credentials(id: string): Promise<Credentials> {
    if (this.options.ttlMs <= 0) return this.store.credentials(id);
    const now = this.now();
    const cached = this.known.get(id) ?? this.unknown.get(id);
    if (cached && cached.expiresAt > now) return Promise.resolve(cached.credentials);
    // Concurrent misses for one id share one query.
    const pending = this.inflight.get(id);
    if (pending) return pending;
    const generation = this.generation;
    const lookup = this.store.credentials(id).then(
      (credentials) => {
        if (this.inflight.get(id) === lookup) this.inflight.delete(id);
        // An invalidation while the query ran may mean the row we read is already outdated.
        if (generation === this.generation) {
          const entry = { credentials, expiresAt: now + this.options.ttlMs };
          if (credentials) {
            this.unknown.delete(id);
            this.known.set(id, entry);
          } else {
            this.known.delete(id);
            this.unknown.set(id, entry);
          }
        }
        return credentials;
      },
      (err: unknown) => {
        if (this.inflight.get(id) === lookup) this.inflight.delete(id);
        throw err;
      },
    );
    this.inflight.set(id, lookup);
    return lookup;
  }
}
