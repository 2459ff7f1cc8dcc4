import { Client } from 'pg';
import { appendChanges, createDb, migrate, type Db } from '@octo-sync/db';
import { databaseUrl, dropDatabase, migrateBefore, uniqueDatabaseName } from '@octo-sync/testkit';

const SEQUENCER = '_change_feed_sequencer';

/**
 * A database whose feed was written under the commit lock (positions in `change_events`, a pruned
 * prefix, a position lost to a rollback) is upgraded: every kept event keeps its position and
 * order, the watermark and the newest position answer as before, and new events come after.
 */
describe('migration: the change feed keeps its positions when it gets a sequencer', () => {
  const name = uniqueDatabaseName();
  const url = databaseUrl(name);
  let db: Db | undefined;
  afterAll(async () => {
    await db?.close();
    await dropDatabase(name);
  });

  it('reads the old events at their positions, then new ones past them', async () => {
    const upgrade = await migrateBefore(url, SEQUENCER);

    const client = new Client({ connectionString: url });
    await client.connect();
    const integrationId = '00000000-0000-4000-8000-000000000021';
    const old = (product: string) =>
      client.query(`INSERT INTO change_events (integration_id, type, product_octo_id, content_hash) VALUES ($1, 'product.updated', $2, $3)`, [integrationId, product, `h-${product}`]);
    try {
      for (const p of ['o1', 'o2', 'o3', 'o4']) await old(p);
      await client.query('BEGIN');
      await old('rolled-back');
      await client.query('ROLLBACK');
      await old('o6');
      // Retention already removed the first event.
      await client.query(`DELETE FROM change_events WHERE position = 1`);
      await client.query(`INSERT INTO change_feed_state (id, pruned_through) VALUES (1, 1)`);
      await client.query(`UPDATE change_events SET at = now() - interval '30 days' WHERE product_octo_id <> 'o6'`);
    } finally {
      await client.end();
    }

    expect((await migrate({ databaseUrl: url })).applied).toContain(upgrade);
    db = createDb({ databaseUrl: url, secretsKey: 'sequencer-upgrade-key' });
    const kept = await db.changes.read(1n, 100);
    if (kept.kind !== 'page') throw new Error(kept.kind);
    expect(kept.events.map((e) => [e.position, e.productOctoId])).toEqual([['2', 'o2'], ['3', 'o3'], ['4', 'o4'], ['6', 'o6']]);
    expect(await db.changes.read(0n, 10)).toEqual({ kind: 'expired', prunedThrough: '1' });
    expect(await db.changes.read(7n, 10)).toEqual({ kind: 'ahead', newest: '6' });
    expect(await db.changes.read(4n, 1)).toMatchObject({ kind: 'page', events: [{ position: '6' }], next: '6' });

    for (const p of ['n1', 'n2']) {
      await appendChanges((text, values) => db!.pool.query(text, values), [{
        integration_id: integrationId, type: 'product.updated', product_octo_id: p, option_octo_id: null, unit_octo_id: null, availability_id: null, content_hash: `h-${p}`,
      }]);
    }
    const next = await db.changes.read(6n, 10);
    expect(next.kind === 'page' && next.events.map((e) => [e.position, e.productOctoId])).toEqual([['7', 'n1'], ['8', 'n2']]);
    // An old event's header took its time (o2..o4: 30 days; o6: the upgrade's day), so retention
    // prunes through o4 and stops at o6; once o6 and n1 are old too, it reaches them alike.
    const prune = () => db!.changes.prune(new Date(Date.now() - 7 * 86_400_000), 100, 1);
    expect(await prune()).toBe(3);
    expect(await db.changes.read(3n, 10)).toEqual({ kind: 'expired', prunedThrough: '4' });
    await db.pool.query(`UPDATE change_transactions SET at = now() - interval '30 days'
      WHERE id IN (SELECT txn_id FROM change_events WHERE product_octo_id IN ('o6', 'n1'))`);
    expect(await prune()).toBe(2);
    expect(await db.changes.read(6n, 10)).toEqual({ kind: 'expired', prunedThrough: '7' });
    const rest = await db.changes.read(7n, 10);
    expect(rest.kind === 'page' && rest.events.map((e) => e.productOctoId)).toEqual(['n2']);
  });
});

/**
 * A database with events in the unpartitioned change_events (numbered headers and one still
 * unsequenced) is upgraded: the old table becomes the first partition as it is, every event reads
 * at its position, the pending header is numbered after them, and new events land in it too.
 */
describe('migration: change_events becomes partitioned by header id, keeping its rows', () => {
  const name = uniqueDatabaseName();
  const url = databaseUrl(name);
  let db: Db | undefined;
  afterAll(async () => {
    await db?.close();
    await dropDatabase(name);
  });

  it('reads the old events at their positions, then new ones past them, all in the first partition', async () => {
    const upgrade = await migrateBefore(url, '_change_events_partitions');
    const integrationId = '00000000-0000-4000-8000-000000000022';
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`INSERT INTO change_transactions (id, xact, ticket, event_count, first_position, last_position, at)
        VALUES (1, NULL, 1, 2, 1, 2, now()), (2, NULL, 2, 1, 3, 3, now()), (3, 999, 3, 1, NULL, NULL, NULL)`);
      await client.query(`INSERT INTO change_events (txn_id, idx, integration_id, type, product_octo_id, content_hash)
        SELECT t, i, $1, 'product.updated', p, 'h-' || p FROM (VALUES (1, 0, 'a1'), (1, 1, 'a2'), (2, 0, 'b1'), (3, 0, 'c1')) AS v(t, i, p)`, [integrationId]);
      await client.query(`UPDATE change_feed_sequencer SET sequenced_through = 3 WHERE id = 1`);
      await client.query(`SELECT setval('change_transactions_id_seq', 3)`);
    } finally {
      await client.end();
    }

    expect((await migrate({ databaseUrl: url })).applied).toContain(upgrade);
    db = createDb({ databaseUrl: url, secretsKey: 'partitions-upgrade-key' });
    const kept = await db.changes.read(null, 100);
    expect(kept.kind === 'page' && kept.events.map((e) => [e.position, e.productOctoId])).toEqual([['1', 'a1'], ['2', 'a2'], ['3', 'b1'], ['4', 'c1']]);
    await appendChanges((text, values) => db!.pool.query(text, values), [{
      integration_id: integrationId, type: 'product.updated', product_octo_id: 'n1', option_octo_id: null, unit_octo_id: null, availability_id: null, content_hash: 'h-n1',
    }]);
    expect(await db.changes.read(4n, 10)).toMatchObject({ kind: 'page', events: [{ position: '5', productOctoId: 'n1' }] });
    const { rows } = await db.pool.query<{ relkind: string; n: number }>(
      `SELECT (SELECT relkind::text FROM pg_class WHERE relname = 'change_events') AS relkind, (SELECT count(*)::int FROM change_events_p0_10000000) AS n`,
    );
    expect(rows[0]).toEqual({ relkind: 'p', n: 5 });
  });
});
