import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { createDb, type Db } from '@octo-sync/db';
import { appendChanges, type ChangeEventRow } from '@octo-sync/db/src/feed/change-outbox';
import { createTestDatabase, waitFor, type TestDatabase } from '@octo-sync/testkit';

const event = (integrationId: string, product: string): ChangeEventRow => ({
  integration_id: integrationId,
  type: 'product.updated',
  product_octo_id: product,
  option_octo_id: null,
  unit_octo_id: null,
  availability_id: null,
  content_hash: `hash-${product}`,
});

describe('change feed: commit order and retention', () => {
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

  it('a second writer takes its positions only after the first one committed, so a reader never skips one', async () => {
    const integrationId = randomUUID();
    const [first, second] = [await connect(), await connect()];
    const sql = (client: Client) => (text: string, values: unknown[]) => client.query(text, values);
    await first.query('BEGIN');
    await appendChanges(sql(first), [event(integrationId, 'a1'), event(integrationId, 'a2')]);
    await second.query('BEGIN');
    const secondAppended = appendChanges(sql(second), [event(integrationId, 'b1')]);
    await waitFor('the second writer to wait for the outbox lock', async () => {
      const { rows } = await first.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`);
      return rows.length > 0;
    });
    const before = await db.changes.read(null, 10);
    expect(before).toEqual({ kind: 'page', events: [], next: '0' });
    await first.query('COMMIT');
    await secondAppended;
    await second.query('COMMIT');
    const page = await db.changes.read(null, 10);
    if (page.kind !== 'page') throw new Error('expired');
    expect(page.events.map((e) => e.productOctoId)).toEqual(['a1', 'a2', 'b1']);
    expect(page.next).toBe(page.events[2]!.position);
    const rest = await db.changes.read(BigInt(page.events[0]!.position), 10);
    expect(rest.kind === 'page' && rest.events.map((e) => e.productOctoId)).toEqual(['a2', 'b1']);
  });

  it('prunes old events in bounded batches and answers expired for a cursor behind the watermark', async () => {
    const integrationId = randomUUID();
    await appendChanges((text, values) => db.pool.query(text, values), ['c1', 'c2', 'c3', 'c4', 'c5'].map((p) => event(integrationId, p)));
    await db.pool.query(`UPDATE change_events SET at = now() - interval '10 days' WHERE product_octo_id IN ('a1', 'a2', 'b1', 'c1', 'c2')`);
    const all = await db.changes.read(null, 100);
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
});
