import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { createDb, type Db } from '@octo-sync/db';
import { appendChanges } from '@octo-sync/db/src/feed/change-outbox';
import { createTestDatabase, waitFor, type TestDatabase } from '@octo-sync/testkit';
import { productEvent } from './feed-events';

const DAY_MS = 86_400_000;
const SPAN = 10_000_000;

/**
 * change_events is partitioned by header id: partitions exist ahead of the id sequence, and one
 * goes only once retention left none of its headers, never while a writer of its range is open.
 */
describe('change feed: partitions by header id', () => {
  let database: TestDatabase;
  let db: Db;
  const integrationId = randomUUID();
  const append = (products: readonly string[]) => appendChanges((text, values) => db.pool.query(text, values), products.map((p) => productEvent(integrationId, p)));
  const products = async (after: bigint | null) => {
    const page = await db.changes.read(after, 1000);
    if (page.kind !== 'page') throw new Error(page.kind);
    return page.events.map((e) => e.productOctoId);
  };
  const attached = async () =>
    (await db.pool.query<{ name: string }>(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'change_events'::regclass AND NOT i.inhdetachpending ORDER BY c.relname`)).rows.map((r) => r.name).sort(byRange);
  /** Ages every header numbered so far past the retention, and prunes them all. */
  const pruneAll = async () => {
    await products(null);
    await db.pool.query(`UPDATE change_transactions SET at = now() - interval '30 days' WHERE first_position IS NOT NULL`);
    return db.changes.prune(new Date(Date.now() - 7 * DAY_MS), 1000, 10);
  };

  beforeEach(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'change-feed-partitions-key' });
  });
  afterEach(async () => {
    await db?.close();
    await database?.drop();
  });

  it('keeps partitions two spans ahead of the ids given', async () => {
    expect(await attached()).toEqual([`change_events_p0_${SPAN}`, `change_events_p${SPAN}_${2 * SPAN}`, `change_events_p${2 * SPAN}_${3 * SPAN}`]);
    expect(await db.changes.partitions.maintain()).toEqual({ created: [], dropped: [], skipped: [] });

    await db.pool.query(`SELECT setval('change_transactions_id_seq', ${1.5 * SPAN})`);
    await append(['far']);
    // The first append drew two ids (header and ticket) past 1.5 spans.
    expect(await db.changes.partitions.headroom()).toBe(3 * SPAN - 1.5 * SPAN - 3);
    expect((await db.changes.partitions.maintain()).created).toEqual([`change_events_p${3 * SPAN}_${4 * SPAN}`]);
    expect(await db.changes.partitions.headroom()).toBe(4 * SPAN - 1.5 * SPAN - 3);
    expect(await products(null)).toEqual(['far']);
  });

  it('drops a partition once no header of its range is left, and keeps one whose header is', async () => {
    await append(['old1', 'old2']);
    await db.pool.query(`SELECT setval('change_transactions_id_seq', ${1.5 * SPAN})`);
    await append(['new']);
    // `old` is still kept: its partition stays.
    expect((await db.changes.partitions.maintain()).dropped).toEqual([]);

    await products(null);
    await db.pool.query(`UPDATE change_transactions SET at = now() - interval '30 days' WHERE id < ${SPAN}`);
    expect(await db.changes.prune(new Date(Date.now() - 7 * DAY_MS), 1000, 10)).toBe(2);
    expect((await db.changes.partitions.maintain()).dropped).toEqual([`change_events_p0_${SPAN}`]);
    expect(await attached()).not.toContain(`change_events_p0_${SPAN}`);
    expect(await db.changes.read(1n, 10)).toEqual({ kind: 'expired', prunedThrough: '2' });
    expect(await products(2n)).toEqual(['new']);
  });

  it('attaches back a partition found detached while a header of its range is kept', async () => {
    await append(['kept']);
    await db.pool.query(`SELECT setval('change_transactions_id_seq', ${1.5 * SPAN})`);
    await db.pool.query(`ALTER TABLE change_events DETACH PARTITION change_events_p0_${SPAN}`);

    expect(await db.changes.partitions.maintain()).toMatchObject({ dropped: [], skipped: [`change_events_p0_${SPAN}`] });
    expect(await attached()).toContain(`change_events_p0_${SPAN}`);
    expect(await products(null)).toEqual(['kept']);
  });

  it('never drops the partition of a writer still open, whose header no other session sees yet', async () => {
    await append(['pruned']);
    const writer = new Client({ connectionString: database.url });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await appendChanges((text, values) => writer.query(text, values), [productEvent(integrationId, 'open')]);
      await db.pool.query(`SELECT setval('change_transactions_id_seq', ${1.5 * SPAN})`);
      await append(['new']);
      expect(await pruneAll()).toBe(2);

      // The detach waits for the open writer (it holds a lock on change_events) until lock_timeout.
      const first = db.changes.partitions.maintain();
      await waitFor('the detach to wait for the writer', async () => {
        const { rows } = await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        return rows.length > 0;
      });
      await writer.query('COMMIT');
      const work = await first;
      expect(work.dropped).toEqual([]);
      expect((await db.changes.partitions.maintain()).dropped).toEqual([]);
      expect(await attached()).toContain(`change_events_p0_${SPAN}`);
      expect(await products(2n)).toEqual(['open']);
    } finally {
      await writer.end();
    }
  });
});

function byRange(a: string, b: string): number {
  const from = (name: string) => BigInt(/_p(\d+)_/.exec(name)?.[1] ?? '0');
  return Number(from(a) - from(b));
}
