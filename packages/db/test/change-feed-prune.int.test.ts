import { randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { createDb, type Db } from '@octo-sync/db';
import { createPrisma } from '@octo-sync/db/src/client';
import { ChangeFeedStore } from '@octo-sync/db/src/feed/change-feed.store';
import { appendChanges } from '@octo-sync/db/src/feed/change-outbox';
import { sequenceChanges } from '@octo-sync/db/src/feed/change-sequencer';
import { createTestDatabase, type TestDatabase } from '@octo-sync/testkit';
import { productEvent } from './feed-events';

const DAY_MS = 86_400_000;
const cutoff = () => new Date(Date.now() - 7 * DAY_MS);


/** Rows a table's scans returned, as the statistics collector counts them. */
type Reads = Record<'change_transactions' | 'change_events', number>;

/**
 * Retention prunes the leading run of old headers in position order and nothing past the first
 * header that is not old: a consumer inside retention never meets 410, and a tick reads the old
 * prefix only, however long the retained feed behind it is.
 */
describe('change feed: retention prunes the old prefix only', () => {
  let database: TestDatabase;
  let db: Db;
  const integrationId = randomUUID();
  const append = (products: readonly string[]) => appendChanges((text, values) => db.pool.query(text, values), products.map((p) => productEvent(integrationId, p)));
  const products = async (after: bigint | null) => {
    const page = await db.changes.read(after, 10_000);
    if (page.kind !== 'page') throw new Error(page.kind);
    return page.events.map((e) => e.productOctoId);
  };
  const ageHeaders = (products: readonly string[]) => db.pool.query(
    `UPDATE change_transactions SET at = now() - interval '30 days' WHERE id IN (SELECT txn_id FROM change_events WHERE product_octo_id = ANY($1))`,
    [products],
  );

  beforeEach(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'change-feed-prune-key' });
  });
  afterEach(async () => {
    await db?.close();
    await database?.drop();
  });

  it('keeps a long transaction numbered after a younger one, whenever it started', async () => {
    await append(['young']);
    await append(['long1', 'long2']);
    // Its events carry its start, 30 days ago; it was numbered (became readable) just now, after `young`.
    await db.pool.query(`UPDATE change_events SET at = now() - interval '30 days' WHERE product_octo_id IN ('long1', 'long2')`);
    expect(await products(null)).toEqual(['young', 'long1', 'long2']);

    expect(await db.changes.prune(cutoff(), 100, 10)).toBe(0);
    expect(await products(0n)).toEqual(['young', 'long1', 'long2']);
  });

  it('stops at the first header that is not old: an old one behind it and the watermark wait', async () => {
    await append(['a1', 'a2']);
    await append(['b1']);
    await append(['young']);
    await append(['c1', 'c2']);
    await products(null);
    await ageHeaders(['a1', 'b1', 'c1']);

    expect(await db.changes.prune(cutoff(), 2, 10)).toBe(3);
    expect(await db.changes.read(2n, 10)).toEqual({ kind: 'expired', prunedThrough: '3' });
    expect(await products(3n)).toEqual(['young', 'c1', 'c2']);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM change_transactions')).rows[0].n).toBe(2);
    // Once `young` is old too, the run reaches past it.
    await ageHeaders(['young']);
    expect(await db.changes.prune(cutoff(), 2, 10)).toBe(3);
    expect(await db.changes.read(3n, 10)).toEqual({ kind: 'expired', prunedThrough: '6' });
    expect(await products(6n)).toEqual([]);
  });

  it('refuses a numbered header without its time, which no walk would ever pass', async () => {
    await append(['numbered']);
    await products(null);
    await expect(db.pool.query('UPDATE change_transactions SET at = NULL')).rejects.toMatchObject({ code: '23514' });
  });

  it('reads only the old prefix of a long retained feed', async () => {
    const old = Array.from({ length: 20 }, (_, i) => `old${i}`);
    for (const p of old) await append([p]);
    // 50,000 more writing transactions, committed at once: large enough that no plan finds a scan
    // of either table cheaper than its index, whatever the statistics say; the sequencer numbers them.
    await db.pool.query(`WITH h AS (
        INSERT INTO change_transactions (ticket, event_count) SELECT nextval('change_transactions_id_seq'), 1 FROM generate_series(1, 50000) RETURNING id)
      INSERT INTO change_events (txn_id, idx, integration_id, type, product_octo_id, content_hash)
      SELECT id, 0, $1, 'product.updated', 'young', 'h' FROM h`, [integrationId]);
    while ((await sequenceChanges(db.prisma)) > 0);
    expect((await products(null)).slice(0, 21)).toEqual([...old, 'young']);
    await ageHeaders(old);
    // Backends flush their statistics when they exit: only the prune's reads are counted below.
    await db.close();

    // One connection, so the prune's reads are this backend's and are flushed on demand.
    const pool = new Pool({ connectionString: database.url, max: 1 });
    try {
      const before = await reads(pool);
      expect(await new ChangeFeedStore(createPrisma(pool, (err) => { throw err; }), pool).prune(cutoff(), 1_000, 10)).toBe(20);
      const after = await reads(pool);
      expect(after.change_transactions - before.change_transactions).toBeLessThan(100);
      expect(after.change_events - before.change_events).toBeLessThan(100);
    } finally {
      await pool.end();
    }
    db = createDb({ databaseUrl: database.url, secretsKey: 'change-feed-prune-key' });
    expect(await db.changes.read(19n, 10)).toEqual({ kind: 'expired', prunedThrough: '20' });
    const kept = await db.changes.read(20n, 10);
    expect(kept.kind === 'page' && kept.events.map((e) => [e.position, e.productOctoId])).toEqual(Array.from({ length: 10 }, (_, i) => [String(21 + i), 'young']));
  });

  /** Flushes this pool's backend statistics (before it answers), then reads the rows scans returned, as another session sees them. */
  async function reads(pool: Pool): Promise<Reads> {
    await pool.query('SELECT pg_stat_force_next_flush()');
    const observer = new Client({ connectionString: database.url });
    await observer.connect();
    try {
      const { rows } = await observer.query<{ relname: keyof Reads; n: string }>(
        `SELECT CASE WHEN relname LIKE 'change\\_events%' THEN 'change_events' ELSE relname END AS relname,
           sum(COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0))::text AS n FROM pg_stat_user_tables
         WHERE relname = 'change_transactions' OR relname LIKE 'change\\_events%' GROUP BY 1`,
      );
      return Object.fromEntries(rows.map((r) => [r.relname, Number(r.n)])) as Reads;
    } finally {
      await observer.end();
    }
  }
});
