import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { createDb, type Db } from '@octo-sync/db';
import { appendChanges } from '@octo-sync/db/src/feed/change-outbox';
import { createTestDatabase, waitFor, type TestDatabase } from '@octo-sync/testkit';
import { productEvent } from './feed-events';

const DAY_MS = 86_400_000;
const SPAN = 10_000_000;
/** The horizon is the cluster's oldest running transaction: on a shared server, other databases' sessions hold it back. */
const HORIZON_WAIT_MS = 240_000;

/**
 * change_events is partitioned by header id: partitions exist ahead of the id sequence, and one
 * goes only once retention left none of its headers and every transaction open when its last id
 * was given has ended, so its DETACH never waits for a writer and no reader misses its events.
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
  const states = async () =>
    Object.fromEntries((await db.pool.query<{ name: string; pending: boolean }>(`SELECT c.relname AS name, i.inhdetachpending AS pending
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'change_events'::regclass`)).rows.map((r) => [r.name, r.pending]));
  /** Retires until `name` is dropped (once the cluster passed its horizon). */
  const retireUntilDropped = async (name: string) => {
    const dropped: string[] = [];
    await waitFor(`${name} to be dropped`, async () => {
      dropped.push(...(await db.changes.partitions.retire()).dropped);
      return dropped.includes(name);
    }, { timeoutMs: HORIZON_WAIT_MS, intervalMs: 200 });
    return dropped;
  };
  /** Leaves `name` half-detached: its DETACH CONCURRENTLY waits for a reader's open transaction past its lock_timeout. */
  const leavePending = async (name: string) => {
    const [reader, ddl] = [new Client({ connectionString: database.url }), new Client({ connectionString: database.url })];
    await Promise.all([reader.connect(), ddl.connect()]);
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT count(*) FROM change_events');
      await ddl.query('SET lock_timeout = 300');
      await expect(ddl.query(`ALTER TABLE change_events DETACH PARTITION ${name} CONCURRENTLY`)).rejects.toMatchObject({ code: '55P03' });
      expect((await states())[name]).toBe(true);
    } finally {
      await Promise.all([reader.end(), ddl.end()]);
    }
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
    expect(await db.changes.partitions.createAhead()).toEqual({ created: [], dropped: [], skipped: [] });

    await db.pool.query(`SELECT setval('change_transactions_id_seq', ${1.5 * SPAN})`);
    await append(['far']);
    // The append drew two ids (its ticket, and its header id) past 1.5 spans.
    expect(await db.changes.partitions.headroom()).toEqual({ left: 3 * SPAN - 1.5 * SPAN - 3, given: 1.5 * SPAN + 2 });
    expect((await db.changes.partitions.createAhead()).created).toEqual([`change_events_p${3 * SPAN}_${4 * SPAN}`]);
    expect((await db.changes.partitions.headroom()).left).toBe(4 * SPAN - 1.5 * SPAN - 3);
    expect(await products(null)).toEqual(['far']);
  });

  it('draws two ids per append, even when the transaction already has its header', async () => {
    const writer = new Client({ connectionString: database.url });
    await writer.connect();
    try {
      const before = (await db.changes.partitions.headroom()).given;
      await writer.query('BEGIN');
      for (const p of ['x', 'y', 'z']) await appendChanges((text, values) => writer.query(text, values), [productEvent(integrationId, p)]);
      await writer.query('COMMIT');
      expect((await db.changes.partitions.headroom()).given - before).toBe(6);
    } finally {
      await writer.end();
    }
  });

  it('drops a partition once no header of its range is left, and keeps one whose header is', async () => {
    await append(['old1', 'old2']);
    await db.pool.query(`SELECT setval('change_transactions_id_seq', ${1.5 * SPAN})`);
    await append(['new']);
    // `old` is still kept: its partition stays.
    expect((await db.changes.partitions.retire()).dropped).toEqual([]);

    await products(null);
    await db.pool.query(`UPDATE change_transactions SET at = now() - interval '30 days' WHERE id < ${SPAN}`);
    expect(await db.changes.prune(new Date(Date.now() - 7 * DAY_MS), 1000, 10)).toBe(2);
    expect(await retireUntilDropped(`change_events_p0_${SPAN}`)).toEqual([`change_events_p0_${SPAN}`]);
    expect(await attached()).not.toContain(`change_events_p0_${SPAN}`);
    expect((await db.pool.query('SELECT name FROM change_feed_partition_horizons')).rows).toEqual([]);
    expect(await db.changes.read(1n, 10)).toEqual({ kind: 'expired', prunedThrough: '2' });
    expect(await products(2n)).toEqual(['new']);
  }, HORIZON_WAIT_MS + 60_000);

  it('attaches back a partition found detached while a header of its range is kept', async () => {
    await append(['kept']);
    await db.pool.query(`SELECT setval('change_transactions_id_seq', ${1.5 * SPAN})`);
    await db.pool.query(`ALTER TABLE change_events DETACH PARTITION change_events_p0_${SPAN}`);

    expect(await db.changes.partitions.retire()).toMatchObject({ dropped: [], skipped: [`change_events_p0_${SPAN}`] });
    expect(await attached()).toContain(`change_events_p0_${SPAN}`);
    expect(await products(null)).toEqual(['kept']);
  });

  it('finalizes a pending detach and attaches its partition back while a header of its range is kept: readers see its events again', async () => {
    await append(['kept']);
    await db.pool.query(`SELECT setval('change_transactions_id_seq', ${1.5 * SPAN})`);
    await leavePending(`change_events_p0_${SPAN}`);
    // What a pending detach does to the feed: readers no longer see the partition's rows.
    expect(await products(null)).toEqual([]);

    expect(await db.changes.partitions.retire()).toMatchObject({ dropped: [], skipped: [`change_events_p0_${SPAN}`] });
    expect((await states())[`change_events_p0_${SPAN}`]).toBe(false);
    expect(await products(null)).toEqual(['kept']);
  });

  it('finalizes a pending detach before detaching another partition (one pending detach per table)', async () => {
    await append(['first']);
    await db.pool.query(`SELECT setval('change_transactions_id_seq', ${1.5 * SPAN})`);
    await append(['second']);
    await db.pool.query(`SELECT setval('change_transactions_id_seq', ${2.5 * SPAN})`);
    expect((await db.changes.partitions.createAhead()).created).toHaveLength(2);
    await append(['third']);
    // Headers kept: nothing goes, but both ranges get their horizon, which the cluster then passes.
    expect((await db.changes.partitions.retire()).dropped).toEqual([]);
    await waitFor('both horizons to be past', async () => {
      const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM change_feed_partition_horizons WHERE xact < pg_snapshot_xmin(pg_current_snapshot())');
      return rows[0]!.n === 2;
    }, { timeoutMs: HORIZON_WAIT_MS, intervalMs: 200 });
    expect(await pruneAll()).toBe(3);
    await leavePending(`change_events_p${SPAN}_${2 * SPAN}`);

    expect(await db.changes.partitions.retire()).toEqual({ created: [], dropped: [`change_events_p${SPAN}_${2 * SPAN}`, `change_events_p0_${SPAN}`], skipped: [] });
    expect(Object.values(await states())).not.toContain(true);
  }, HORIZON_WAIT_MS + 60_000);

  it('never detaches the partition of a writer still open: the detach cannot wait for it, nor hide its events', async () => {
    await append(['pruned']);
    const writer = new Client({ connectionString: database.url });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await appendChanges((text, values) => writer.query(text, values), [productEvent(integrationId, 'open')]);
      await db.pool.query(`SELECT setval('change_transactions_id_seq', ${1.5 * SPAN})`);
      await append(['new']);
      expect(await pruneAll()).toBe(2);

      // Every id of p0 was given and none of its headers is visible, but the writer holds one.
      expect(await db.changes.partitions.retire()).toEqual({ created: [], dropped: [], skipped: [] });
      expect((await states())[`change_events_p0_${SPAN}`]).toBe(false);
      await writer.query('COMMIT');
      expect(await products(2n)).toEqual(['open']);
      expect((await db.changes.partitions.retire()).dropped).toEqual([]);
      expect(await attached()).toContain(`change_events_p0_${SPAN}`);
    } finally {
      await writer.end();
    }
  });
});

function byRange(a: string, b: string): number {
  const from = (name: string) => BigInt(/_p(\d+)_/.exec(name)?.[1] ?? '0');
  return Number(from(a) - from(b));
}
