import { randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { createDb, type Db } from '@octo-sync/db';
import { appendChanges } from '@octo-sync/db/src/feed/change-outbox';
import { createPrisma } from '@octo-sync/db/src/client';
import { sequenceChanges } from '@octo-sync/db/src/feed/change-sequencer';
import { createTestDatabase, waitFor, type TestDatabase } from '@octo-sync/testkit';
import { productEvent } from './feed-events';


describe('change feed: positions past every committed one, and retention', () => {
  let database: TestDatabase;
  let db: Db;
  const clients: Client[] = [];
  const connect = async () => {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    clients.push(client);
    return client;
  };
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, secretsKey: 'change-feed-test-key' });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await db?.close();
    await database?.drop();
  });

  it('a writer never waits for another, and one that commits late is numbered past what a reader already read', async () => {
    const integrationId = randomUUID();
    const [first, second] = [await connect(), await connect()];
    const sql = (client: Client) => (text: string, values: unknown[]) => client.query(text, values);
    await first.query('BEGIN');
    await appendChanges(sql(first), [productEvent(integrationId, 'a1'), productEvent(integrationId, 'a2')]);
    await second.query('BEGIN');
    // With a commit lock, this append would wait for the first writer's COMMIT.
    await appendChanges(sql(second), [productEvent(integrationId, 'b1')]);
    await second.query('COMMIT');
    const before = await db.changes.read(null, 10);
    if (before.kind !== 'page') throw new Error(before.kind);
    expect(before.events.map((e) => [e.position, e.productOctoId])).toEqual([['1', 'b1']]);
    await first.query('COMMIT');
    const late = await db.changes.read(BigInt(before.next), 10);
    expect(late.kind === 'page' && late.events.map((e) => [e.position, e.productOctoId])).toEqual([['2', 'a1'], ['3', 'a2']]);
    const page = await db.changes.read(null, 10);
    if (page.kind !== 'page') throw new Error(page.kind);
    expect(page.events.map((e) => e.productOctoId)).toEqual(['b1', 'a1', 'a2']);
    expect(page.next).toBe(page.events[2]!.position);
    const rest = await db.changes.read(BigInt(page.events[0]!.position), 10);
    expect(rest.kind === 'page' && rest.events.map((e) => e.productOctoId)).toEqual(['a1', 'a2']);
    // A rolled-back writer leaves no event and no gap.
    await second.query('BEGIN');
    await appendChanges(sql(second), [productEvent(integrationId, 'x1')]);
    await second.query('ROLLBACK');
    expect(await db.changes.read(BigInt(page.next), 10)).toEqual({ kind: 'page', events: [], next: page.next });
  });

  it('prunes old events in bounded batches and answers expired for a cursor behind the watermark', async () => {
    const integrationId = randomUUID();
    await appendChanges((text, values) => db.pool.query(text, values), ['c1', 'c2'].map((p) => productEvent(integrationId, p)));
    await appendChanges((text, values) => db.pool.query(text, values), ['c3', 'c4', 'c5'].map((p) => productEvent(integrationId, p)));
    const all = await db.changes.read(null, 100);
    // Retention goes by when a transaction was numbered: the first three are ten days old.
    await db.pool.query(`UPDATE change_transactions SET at = now() - interval '10 days'
      WHERE id IN (SELECT txn_id FROM change_events WHERE product_octo_id IN ('a1', 'b1', 'c1'))`);
    if (all.kind !== 'page') throw new Error('expired');
    const positionOf = (p: string) => all.events.find((e) => e.productOctoId === p)!.position;

    expect(await db.changes.prune(new Date(Date.now() - 7 * 86_400_000), 2, 1)).toBe(2);
    expect(await db.changes.prune(new Date(Date.now() - 7 * 86_400_000), 2, 10)).toBe(3);
    expect(await db.changes.read(BigInt(positionOf('a2')), 10)).toEqual({ kind: 'expired', prunedThrough: positionOf('c2') });
    const resumed = await db.changes.read(BigInt(positionOf('c2')), 10);
    expect(resumed.kind === 'page' && resumed.events.map((e) => e.productOctoId)).toEqual(['c3', 'c4', 'c5']);
    const fresh = await db.changes.read(null, 10);
    expect(fresh.kind === 'page' && fresh.events.map((e) => e.productOctoId)).toEqual(['c3', 'c4', 'c5']);
  });

  it('a sequencer that waited for another numbers past it, whatever the sessions\' default isolation', async () => {
    await appendChanges((text, values) => db.pool.query(text, values), [productEvent(randomUUID(), 'late')]);
    // Another sequencer holds the row (and moves it on commit) while this one waits for it.
    const holder = await connect();
    await holder.query('BEGIN');
    await holder.query('UPDATE change_feed_sequencer SET sequenced_through = sequenced_through WHERE id = 1');
    const repeatable = new Pool({ connectionString: database.url, max: 2, options: '-c default_transaction_isolation=repeatable\\ read' });
    try {
      const numbering = sequenceChanges(createPrisma(repeatable, (err) => { throw err; }));
      await waitFor('the sequencer to wait for the row', async () => {
        // Not from the holder: a transaction sees pg_stat_activity as it was when it first looked.
        const { rows } = await db.pool.query<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        return rows[0]!.waiting > 0;
      });
      await holder.query('COMMIT');
      // Under repeatable read it would keep the snapshot it took before waiting: a serialization failure.
      expect(await numbering).toBe(1);
    } finally {
      await repeatable.end();
    }
  });
});
